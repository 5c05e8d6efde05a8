/** A store that sheds load answers TooManyRequests; over HTTP that is 429 with Retry-After, as kube-apiserver sends it. */
import { expect } from "chai";
import { createServer, request } from "node:http";
import { FlotillaError } from "../../../bus/errors.ts";
import { TOO_MANY_REQUESTS } from "../../../runtime/mailbox.ts";
import { sendError } from "../../../actors/api-server/http.ts";

describe("api-server on a store's TooManyRequests", () => {
  it("answers 429 with a Retry-After header and a TooManyRequests Status", async () => {
    const server = createServer((_req, res) => void sendError(res, FlotillaError.fromWire(TOO_MANY_REQUESTS)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const answer = await new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
        request({ host: "127.0.0.1", port, path: "/api/v1/pods" }, (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"], body }));
        })
          .on("error", reject)
          .end();
      });
      expect(answer.status).to.equal(429);
      expect(answer.retryAfter).to.equal("1");
      expect(JSON.parse(answer.body)).to.deep.include({ kind: "Status", status: "Failure", reason: "TooManyRequests", code: 429, details: { retryAfterSeconds: 1 } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
