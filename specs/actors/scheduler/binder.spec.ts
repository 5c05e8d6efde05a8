import { expect } from "chai";
import type { Binding, BindOutcome } from "../../../bus/store-protocol.ts";
import { Binder } from "../../../actors/scheduler/binder.ts";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";

const binding = (name: string): Binding => ({ namespace: "default", name, node: "node-1" });
const outcome = (b: Binding): BindOutcome => (b.name.startsWith("bad") ? { ok: false, error: { code: ErrorCode.Conflict, message: `pod ${b.name} is already assigned` } } : { ok: true, resourceVersion: "7" });
const settle = (p: Promise<void>) => p.then(() => "ok", (e: unknown) => (e instanceof FlotillaError ? e.code : String(e)));

describe("scheduler binder", () => {
  it("sends the binds of one turn as one request and settles each with its own outcome", async () => {
    const requests: Binding[][] = [];
    const binder = new Binder({ bindAll: async (bs) => (requests.push(bs), bs.map(outcome)) });
    const results = await Promise.all(["a", "bad-b", "c"].map((n) => settle(binder.bind(binding(n)))));
    expect(results).to.deep.equal(["ok", ErrorCode.Conflict, "ok"]);
    expect(requests.map((r) => r.map((b) => b.name))).to.deep.equal([["a", "bad-b", "c"]]);
  });

  it("sends a full batch at once and the rest in the next request", async () => {
    const requests: Binding[][] = [];
    const binder = new Binder({ bindAll: async (bs) => (requests.push(bs), bs.map(outcome)) }, 2);
    await Promise.all(["a", "b", "c"].map((n) => binder.bind(binding(n))));
    expect(requests.map((r) => r.map((b) => b.name))).to.deep.equal([["a", "b"], ["c"]]);
  });

  it("asks the store for the Scheduled Events of the batch, from its source, in the same request", async () => {
    const asked: unknown[] = [];
    const binder = new Binder({ bindAll: async (bs, ev) => (asked.push(ev), bs.map(outcome)) }, 128, { component: "default-scheduler", host: "s-1" });
    await Promise.all(["a", "b"].map((n) => binder.bind(binding(n))));
    expect(asked).to.deep.equal([{ component: "default-scheduler", host: "s-1" }]);
  });

  it("fails every bind of a request the store did not answer", async () => {
    const binder = new Binder({ bindAll: async () => Promise.reject(new FlotillaError(ErrorCode.Timeout, "no answer")) });
    expect(await Promise.all(["a", "b"].map((n) => settle(binder.bind(binding(n)))))).to.deep.equal([ErrorCode.Timeout, ErrorCode.Timeout]);
  });
});
