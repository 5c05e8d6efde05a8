import { expect } from "chai";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FenceGuard } from "../../bus/fence.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { encode, decode } from "../../bus/codec.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

interface Sent {
  subject: string;
  body: Record<string, unknown>;
  reply: string;
}

/** Just enough of a NATS connection for the request multiplexer: records publishes, answers on demand. */
function fakeNats() {
  const sent: Sent[] = [];
  let deliver: (m: { subject: string; data: Uint8Array }) => void = () => undefined;
  const nc = {
    subscribe: (_s: string, o: { callback: (e: unknown, m: unknown) => void }) => {
      deliver = (m) => o.callback(null, m);
      return { isClosed: () => false, unsubscribe: () => undefined };
    },
    publish: (subject: string, data: Uint8Array, o: { reply: string }) => sent.push({ subject, body: decode(data), reply: o.reply }),
  };
  const answer = (i: number, value: unknown) => deliver({ subject: sent[i]!.reply, data: encode({ ok: true, value }) });
  return { nc: nc as unknown as NatsConnection, sent, answer };
}

function term(remaining = 1000) {
  const abort = new AbortController();
  let left = remaining;
  const guard: FenceGuard = { fence: { lease: "scheduler", holder: "scheduler-abc", term: 3 }, signal: abort.signal, remainingMs: () => left };
  return { guard, abort, expire: () => (left = 0) };
}

const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "default" } };

describe("fenced store client", () => {
  it("sends the term's fence with every write and none with reads", async () => {
    const { nc, sent, answer } = fakeNats();
    const store = new StoreClient(nc, "test").fenced(term().guard);
    const writes = [store.create("configmaps", "default", cm), store.update("configmaps", cm), store.delete("configmaps", "default", "x"), store.bind("default", "p", "n1")];
    const reads = [store.get("configmaps", "default", "x"), store.list("configmaps", "default")];
    sent.forEach((_s, i) => answer(i, cm));
    await Promise.all([...writes, ...reads]);
    expect(sent.map((s) => [s.subject, s.body.fence ?? null])).to.deep.equal([
      ["flotilla.test.store.create", { lease: "scheduler", holder: "scheduler-abc", term: 3 }],
      ["flotilla.test.store.update", { lease: "scheduler", holder: "scheduler-abc", term: 3 }],
      ["flotilla.test.store.delete", { lease: "scheduler", holder: "scheduler-abc", term: 3 }],
      ["flotilla.test.store.bind", { lease: "scheduler", holder: "scheduler-abc", term: 3 }],
      ["flotilla.test.store.get", null],
      ["flotilla.test.store.list", null],
    ]);
  });

  it("sends nothing once the term is over, and fails the call at once", async () => {
    for (const end of ["abort", "expire"] as const) {
      const { nc, sent } = fakeNats();
      const t = term();
      const store = new StoreClient(nc, "test").fenced(t.guard);
      if (end === "abort") t.abort.abort();
      else t.expire();
      const err = await store.create("configmaps", "default", cm).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(FlotillaError);
      expect((err as FlotillaError).code).to.equal(ErrorCode.Conflict);
      expect((err as FlotillaError).message).to.match(/scheduler-abc no longer leads: its term 3 of lease kube-system\/scheduler has ended/);
      expect(sent, end).to.deep.equal([]);
    }
  });

  it("fails a call in flight the moment the term ends", async () => {
    const { nc, sent } = fakeNats();
    const t = term(60_000);
    const pending = new StoreClient(nc, "test").fenced(t.guard).update("configmaps", cm).catch((e: unknown) => e);
    expect(sent).to.have.length(1);
    t.abort.abort();
    expect(((await pending) as FlotillaError).code).to.equal(ErrorCode.Conflict);
  });

  it("never waits for an answer past the leader's renew deadline", async () => {
    const { nc } = fakeNats();
    const store = new StoreClient(nc, "test", 60_000).fenced(term(30).guard);
    const err = (await store.get("configmaps", "default", "x").catch((e: unknown) => e)) as FlotillaError;
    expect(err.code).to.equal(ErrorCode.Timeout);
    expect(err.message).to.match(/within 30 ms/);
  });
});
