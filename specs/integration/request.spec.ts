import { expect } from "chai";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { connectNats } from "../../runtime/host.ts";
import { request } from "../../bus/request.ts";
import { encode } from "../../bus/codec.ts";
import { ErrorCode } from "../../bus/errors.ts";

describe("request/reply over NATS", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    server = await startNatsServer({ port: 0 });
    nc = await connectNats(server.url, "spec");
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("answers Unavailable at once when no actor serves the subject", async () => {
    const t0 = Date.now();
    const r = await request(nc, "flotilla.x.nobody", { type: "get" }, 5000);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.code).to.equal(ErrorCode.Unavailable);
    expect(Date.now() - t0).to.be.lessThan(1000);
  });

  it("answers Timeout when the responder is too slow, and matches replies to their requests", async () => {
    nc.subscribe("flotilla.x.slow", { callback: (_e, m) => void setTimeout(() => m.respond(encode({ ok: true, value: "late" })), 300) });
    nc.subscribe("flotilla.x.echo", { callback: (_e, m) => void m.respond(encode({ ok: true, value: JSON.parse(new TextDecoder().decode(m.data)) })) });
    const slow = await request(nc, "flotilla.x.slow", {}, 100);
    if (!slow.ok) expect(slow.error.code).to.equal(ErrorCode.Timeout);
    expect(slow.ok).to.equal(false);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => request<number>(nc, "flotilla.x.echo", i)));
    expect(many.map((r) => (r.ok ? r.value : -1))).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
  });
});
