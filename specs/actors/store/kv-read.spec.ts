/**
 * A replicated bucket's read goes to its stream leader, which answers nothing while a new one is
 * elected. The read is made again in short tries (LEADER_READ_TRIES_MS), so it is answered soon
 * after a leader is back. Here a nats-server without JetStream and a stand-in "leader" that lets
 * the first request go unanswered, as a leader that froze would.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { readKey, LEADER_READ_TRIES_MS } from "../../../actors/store/kv-read.ts";
import { findNatsServer, freePort, portAccepts } from "../../../runtime/nats-server.ts";

const enc = new TextEncoder();
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("a replicated bucket's read", function () {
  this.timeout(30_000);
  let server: ChildProcess | undefined;
  let nc: NatsConnection;
  let port: number;

  before(async function () {
    const bin = findNatsServer();
    if (!bin) this.skip();
    port = await freePort();
    server = spawn(bin!, ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
    for (let i = 0; i < 200 && !(await portAccepts("127.0.0.1", port)); i++) await new Promise((r) => setTimeout(r, 25));
    nc = await connect({ servers: `127.0.0.1:${port}` });
  });
  after(async () => {
    await nc?.close();
    server?.kill("SIGKILL");
  });

  it("is asked again after a try nobody answered, and gets the leader's answer", async () => {
    const asked: number[] = [];
    const t0 = Date.now();
    const sub = nc.subscribe("$JS.API.STREAM.MSG.GET.KV_spec", {
      callback: (_e, m) => {
        asked.push(Date.now() - t0);
        // The first try meets a leader that froze; the second, the one elected after it.
        if (asked.length === 1) return;
        const req = JSON.parse(new TextDecoder().decode(m.data)) as { last_by_subj?: string };
        m.respond(enc.encode(JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_msg_get_response", message: { subject: req.last_by_subj, seq: 42, data: b64("value"), time: new Date().toISOString() } })));
      },
    });
    const entry = await readKey(nc, { direct: false } as unknown as KV, "spec", "configmaps.default.a");
    sub.unsubscribe();
    expect(asked).to.have.length(2);
    expect(asked[1]!, "the second try follows the first one's short time-out").to.be.at.least(LEADER_READ_TRIES_MS[0] - 50);
    expect(entry?.revision).to.equal(42);
    expect(new TextDecoder().decode(entry?.value)).to.equal("value");
    expect(entry?.operation).to.equal("PUT");
  });

  it("answers a key the leader does not hold as absent, at the first try", async () => {
    let asked = 0;
    const sub = nc.subscribe("$JS.API.STREAM.MSG.GET.KV_spec", {
      callback: (_e, m) => {
        asked++;
        m.respond(enc.encode(JSON.stringify({ type: "io.nats.jetstream.api.v1.stream_msg_get_response", error: { code: 404, err_code: 10037, description: "no message found" } })));
      },
    });
    expect(await readKey(nc, { direct: false } as unknown as KV, "spec", "configmaps.default.none")).to.equal(null);
    sub.unsubscribe();
    expect(asked).to.equal(1);
  });
});
