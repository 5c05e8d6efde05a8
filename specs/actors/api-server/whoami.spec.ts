import type { AddressInfo } from "node:net";
import type { ServerDeps } from "../../../actors/api-server/server.ts";
import { expect } from "chai";
import { createServer } from "node:http";
import { parseTokenFile } from "../../../actors/api-server/auth.ts";
import { parseRoute } from "../../../actors/api-server/routes.ts";
import { createHandler } from "../../../actors/api-server/server.ts";
import { whoami } from "../../../actors/api-server/whoami.ts";
import { createLogger } from "../../../runtime/logger.ts";
import { staticView } from "./rbac-fixtures.ts";

const view = staticView({}, true);

const users = parseTokenFile(`admintoken,alice,1,"system:masters"
viewtoken,bob,2,"flotilla:view"
`);

describe("api-server whoami", () => {
  it("says an admin token may write", () => {
    expect(whoami(view, users.get("admintoken")!)).to.deep.equal({ user: "alice", groups: ["system:masters"], canWrite: true });
  });

  it("says a view-only token may not write", () => {
    expect(whoami(view, users.get("viewtoken")!)).to.deep.equal({ user: "bob", groups: ["flotilla:view"], canWrite: false });
  });

  it("routes GET /flotilla/v1/whoami and refuses other methods", () => {
    expect(parseRoute("GET", "/flotilla/v1/whoami", new URLSearchParams())).to.deep.equal({ type: "whoami" });
    expect(parseRoute("POST", "/flotilla/v1/whoami", new URLSearchParams()).type).to.equal("method-not-allowed");
  });

  describe("over HTTP", () => {
    let url = "";
    const server = createServer(
      createHandler({ log: createLogger("spec"), now: Date.now, users: () => users, cacheFor: () => undefined, address: () => "127.0.0.1", rbac: view } as unknown as ServerDeps),
    );
    before(async () => {
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flotilla/v1/whoami`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it("answers the token's user and role", async () => {
      const res = await fetch(url, { headers: { Authorization: "Bearer viewtoken" } });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ user: "bob", groups: ["flotilla:view", "system:authenticated"], canWrite: false });
    });

    it("answers 401 without a token", async () => {
      const res = await fetch(url);
      expect(res.status).to.equal(401);
    });
  });
});
