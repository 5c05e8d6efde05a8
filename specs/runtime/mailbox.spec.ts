/** `serve` (runtime/mailbox.ts) over a scripted connection: the order and slicing of its queue. */
import { expect } from "chai";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { ActorContext } from "../../runtime/actor.ts";
import { serve } from "../../runtime/mailbox.ts";
import { encode, decode } from "../../bus/codec.ts";
import { waitFor } from "../harness/cluster.ts";
import { quietLog } from "../harness/quiet-log.ts";

/** A connection whose one subscription the spec feeds; answers are collected in order. */
function scriptedConnection() {
  let deliver: ((err: Error | null, m: Msg) => void) | undefined;
  const answers: unknown[] = [];
  const nc = {
    subscribe: (_subject: string, o: { callback: (err: Error | null, m: Msg) => void }) => {
      deliver = o.callback;
      return { drain: async () => undefined };
    },
  } as unknown as NatsConnection;
  const send = (body: unknown) =>
    deliver!(null, { subject: "spec.q", reply: "spec.reply", data: encode(body), respond: (d: Uint8Array) => (answers.push(decode(d)), true) } as unknown as Msg);
  return { nc, send, answers };
}

describe("mailbox", () => {
  it("serves a backlog in time slices: timers run while requests whose handlers never wait are still queued", async () => {
    const c = scriptedConnection();
    const ctx = { nc: c.nc, log: quietLog } as unknown as ActorContext;
    let handled = 0;
    const server = serve<{ n: number }, number>(ctx, "spec.q", {
      concurrency: 1,
      decode: (raw) => raw as { n: number },
      handle: async (m) => {
        const until = performance.now() + 0.02;
        while (performance.now() < until);
        handled++;
        return m.n;
      },
    });
    const count = 5_000;
    let handledAtTimer = -1;
    setTimeout(() => (handledAtTimer = handled), 0);
    for (let n = 0; n < count; n++) c.send({ n });
    await waitFor(() => c.answers.length === count && handledAtTimer >= 0);
    expect(handledAtTimer, "the timer ran while requests were queued").to.be.within(1, count - 1);
    expect(c.answers.map((a) => (a as { value: number }).value)).to.deep.equal(Array.from({ length: count }, (_, n) => n));
    await server.stop();
  });

  it("serves an exempt request at once, ahead of a queue it would otherwise wait behind", async () => {
    const c = scriptedConnection();
    const ctx = { nc: c.nc, log: quietLog } as unknown as ActorContext;
    const release: (() => void)[] = [];
    const server = serve<{ n: number; urgent?: boolean }, number>(ctx, "spec.q", {
      concurrency: 1,
      maxQueued: 2,
      decode: (raw) => raw as { n: number; urgent?: boolean },
      exempt: (m) => m.urgent === true,
      handle: (m) => (m.urgent ? Promise.resolve(m.n) : new Promise((r) => release.push(() => r(m.n)))),
    });
    for (let n = 0; n < 4; n++) c.send({ n });
    c.send({ n: 99, urgent: true });
    await waitFor(() => c.answers.length === 2);
    // The fourth request found the queue full; the urgent one did not wait for the first.
    expect(c.answers.map((a) => JSON.stringify(a))).to.deep.equal([JSON.stringify({ ok: false, error: { code: "TooManyRequests", message: "Too many requests, please try again later.", details: { retryAfterSeconds: 1 } } }), JSON.stringify({ ok: true, value: 99 })]);
    while (release.length > 0 || c.answers.length < 5) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(c.answers.slice(2).map((a) => (a as { value: number }).value)).to.deep.equal([0, 1, 2]);
    await server.stop();
  });
});
