/**
 * Informers sharing one watch (runtime/shared-watch.ts) against a scripted KV watch: the spec
 * decides when a snapshot is complete, when the underlying watch breaks and whether the revision
 * to resume from is still retained.
 */
import { expect } from "chai";
import type { NatsConnection } from "@nats-io/transport-node";
import type { KvChange, WatchHandle, WatchOptions } from "../../bus/kv.ts";
import type { ConfigMap } from "../../bus/resources.ts";
import type { SharedWatches } from "../../runtime/shared-watch.ts";
import { keyOf } from "../../bus/kv.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { Informer } from "../../runtime/informer.ts";
import { createSharedWatches } from "../../runtime/shared-watch.ts";
import { currentActor, runInActorScope } from "../../runtime/containment.ts";
import { waitFor } from "../harness/cluster.ts";
import { quietLog } from "../harness/quiet-log.ts";
import { recordingInformer, scriptedWatch } from "../harness/scripted-watch.ts";

const cm = (name: string, revision: number, namespace = "default"): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace, resourceVersion: String(revision) },
  data: {},
});
const put = (name: string, revision: number, initial: boolean, namespace = "default"): KvChange => ({
  op: "put",
  key: keyOf("configmaps", namespace, name),
  revision,
  object: cm(name, revision, namespace),
  initial,
});
const del = (name: string, revision: number): KvChange => ({ op: "delete", key: keyOf("configmaps", "default", name), revision, initial: false });

describe("shared watch", () => {
  let shared: SharedWatches;
  let s: ReturnType<typeof scriptedWatch>;
  const informers: Informer<ConfigMap>[] = [];
  beforeEach(() => {
    s = scriptedWatch();
    shared = createSharedWatches({ connect: async () => ({ drain: async () => undefined }) as unknown as NatsConnection, watch: s.watch, recent: 4, log: quietLog });
  });
  afterEach(async () => {
    informers.splice(0).forEach((i) => i.stop());
    await shared.close();
  });

  function informer(namespace?: string) {
    const r = recordingInformer(shared.watch, namespace);
    informers.push(r.inf);
    return r;
  }
  const names = (inf: Informer<ConfigMap>) => inf.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

  /** Starts the first informer on a snapshot of `objects` (name → revision), synced at `revision`. */
  async function first(objects: [string, number][], revision: number) {
    const a = informer();
    const start = a.inf.start();
    await waitFor(() => s.opened.length === 1);
    for (const [name, rev] of objects) s.opened[0]!.opts.onChange(put(name, rev, true));
    s.opened[0]!.synced(revision);
    await start;
    return a;
  }

  it("gives a subscriber that joins late every live key, then the changes after it, from the one watch", async () => {
    const a = await first([["x", 3], ["y", 4]], 5);
    const w = s.opened[0]!;
    w.opts.onChange(put("z", 6, false));
    w.opts.onChange(del("x", 7));
    const b = informer();
    await b.inf.start();
    expect(b.inf.synced).to.equal(true);
    expect(b.inf.revision).to.equal(7);
    expect(b.seen.sort()).to.deep.equal(["add y@4", "add z@6"]);
    w.opts.onChange(put("y", 8, false));
    expect(a.seen).to.deep.equal(["add x@3", "add y@4", "add z@6", "delete x", "update y@8"]);
    expect(b.seen.slice(2)).to.deep.equal(["update y@8"]);
    expect(names(b.inf)).to.deep.equal(names(a.inf));
    expect(s.opened.length, "one underlying watch").to.equal(1);
    expect(b.inf.get("default", "y"), "one decoded copy").to.equal(a.inf.get("default", "y"));
  });

  it("keeps one underlying watch per filter, and each subscriber sees only its own", async () => {
    const a = await first([["x", 3]], 3);
    const other = informer("other");
    const start = other.inf.start();
    await waitFor(() => s.opened.length === 2);
    expect(s.opened.map((o) => o.filter)).to.deep.equal(["configmaps.>", "configmaps.other.>"]);
    s.opened[1]!.opts.onChange(put("p", 2, true, "other"));
    s.opened[1]!.synced(3);
    await start;
    s.opened[1]!.opts.onChange(put("q", 4, false, "other"));
    s.opened[0]!.opts.onChange(put("q", 4, false, "other"));
    expect(other.seen).to.deep.equal(["add p@2", "add q@4"]);
    expect(a.seen).to.deep.equal(["add x@3", "add q@4"]);
  });

  it("resumes a broken underlying watch after its last revision: subscribers see every change once", async () => {
    const a = await first([["x", 3]], 3);
    const b = informer();
    await b.inf.start();
    s.opened[0]!.opts.onChange(put("y", 4, false));
    s.opened[0]!.opts.onError!(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
    await waitFor(() => s.opened.length === 2, { what: "the resumed watch" });
    expect(s.asked).to.deep.equal([undefined, 4]);
    expect(s.opened[0]!.stopped).to.equal(true);
    s.opened[1]!.opts.onChange(put("x", 5, false));
    s.opened[1]!.opts.onChange(del("y", 6));
    for (const { seen } of [a, b]) expect(seen).to.deep.equal(["add x@3", "add y@4", "update x@5", "delete y"]);
    expect(names(a.inf)).to.deep.equal(["x@5"]);
  });

  it("moves a node's connection to another server when resuming keeps timing out there", async () => {
    // A connection whose server answers no JetStream request: every resume times out until the
    // connection reconnects (to another server of the cluster).
    let reconnects = 0;
    let opened = 0;
    const nc = { drain: async () => undefined, reconnect: async () => void reconnects++ } as unknown as NatsConnection;
    const watch = async (_nc: NatsConnection, _bucket: string, opts: WatchOptions): Promise<WatchHandle> => {
      opened++;
      if (opened > 1 && reconnects === 0) throw new FlotillaError(ErrorCode.Timeout, "timeout");
      if (opened === 1) setTimeout(() => opts.onError!(new FlotillaError(ErrorCode.Unavailable, "the watch's consumer is gone")), 10);
      opts.onSynced?.(1);
      return { synced: Promise.resolve(1), stop: () => undefined };
    };
    const moving = createSharedWatches({ connect: async () => nc, watch, log: quietLog, failover: true, failoverAfterMs: 300 });
    const staying = createSharedWatches({ connect: async () => nc, watch, log: quietLog, failover: false, failoverAfterMs: 300 });
    const r = recordingInformer(moving.watch);
    await r.inf.start();
    await waitFor(() => reconnects > 0, { timeoutMs: 5000, what: "a reconnect" });
    const resumedAfter = opened;
    await waitFor(() => opened > resumedAfter, { timeoutMs: 5000, what: "the resume after the reconnect" });
    expect(reconnects, "one move, then the resume succeeds").to.equal(1);
    r.inf.stop();
    await moving.close();
    // A server's own actors stay on their server.
    reconnects = 0;
    opened = 0;
    const t = recordingInformer(staying.watch);
    await t.inf.start();
    await new Promise((res) => setTimeout(res, 800));
    t.inf.stop();
    await staying.close();
    expect(opened, "it kept trying").to.be.greaterThan(2);
    expect(reconnects).to.equal(0);
  });

  it("moves it as well when first watches keep timing out (an actor starting again and again)", async () => {
    let reconnects = 0;
    const nc = { drain: async () => undefined, reconnect: async () => void reconnects++ } as unknown as NatsConnection;
    const watch = async (_nc: NatsConnection, _bucket: string, opts: WatchOptions): Promise<WatchHandle> => {
      if (reconnects === 0) throw new FlotillaError(ErrorCode.Timeout, "timeout");
      opts.onSynced?.(1);
      return { synced: Promise.resolve(1), stop: () => undefined };
    };
    const w = createSharedWatches({ connect: async () => nc, watch, log: quietLog, failover: true, failoverAfterMs: 200 });
    let starts = 0;
    for (const deadline = Date.now() + 5000; reconnects === 0 && Date.now() < deadline; starts++) {
      const r = recordingInformer(w.watch);
      await r.inf.start().catch(() => undefined);
      r.inf.stop();
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(starts, "several starts timed out first").to.be.greaterThan(1);
    expect(reconnects).to.equal(1);
    const r = recordingInformer(w.watch);
    await r.inf.start();
    r.inf.stop();
    await w.close();
  });

  it("makes every subscriber re-list when the revision to resume from is gone, and tells each what changed", async () => {
    const a = await first([["x", 3], ["y", 4], ["w", 2]], 4);
    const b = informer();
    await b.inf.start();
    a.seen.length = 0;
    b.seen.length = 0;
    s.refuseNextWith(new FlotillaError(ErrorCode.Expired, "too old resource version: 4 (40)"));
    s.opened[0]!.opts.onError!(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
    await waitFor(() => s.opened.length === 2, { what: "the re-list" });
    const relist = s.opened[1]!;
    relist.opts.onChange(put("x", 41, true)); // changed while away
    relist.opts.onChange(put("w", 2, true)); // unchanged
    relist.opts.onChange(put("z", 42, true)); // new; y was deleted while away
    relist.synced(42);
    await waitFor(() => a.seen.length === 3 && b.seen.length === 3, { what: "the diff in both" });
    for (const { inf, seen } of [a, b]) {
      expect(seen.sort()).to.deep.equal(["add z@42", "delete y", "update x@41"]);
      expect(names(inf)).to.deep.equal(["w@2", "x@41", "z@42"]);
    }
    expect(s.live().length, "one underlying watch after the re-list").to.equal(1);
    relist.opts.onChange(put("w", 43, false));
    for (const { seen } of [a, b]) expect(seen.at(-1)).to.equal("update w@43");
  });

  it("serves a subscriber's resume from the recent changes, and answers Expired past them", async () => {
    const a = await first([["x", 3]], 3);
    const w = s.opened[0]!;
    const got: string[] = [];
    const h = await shared.watch({} as NatsConnection, w.bucket, { filter: "configmaps.>", afterRevision: 3, onChange: (c) => void got.push(`${c.op} ${c.revision}`) });
    expect(await h.synced).to.equal(3);
    w.opts.onChange(put("y", 4, false));
    h.stop();
    w.opts.onChange(put("y", 5, false));
    w.opts.onChange(del("y", 6));
    const again = await shared.watch({} as NatsConnection, w.bucket, { filter: "configmaps.>", afterRevision: 4, onChange: (c) => void got.push(`${c.op} ${c.revision}`) });
    expect(await again.synced).to.equal(6);
    expect(got).to.deep.equal(["put 4", "put 5", "delete 6"]);
    again.stop();
    for (let rev = 7; rev <= 10; rev++) w.opts.onChange(put("y", rev, false)); // 4 kept: 7..10
    const err = await shared.watch({} as NatsConnection, w.bucket, { filter: "configmaps.>", afterRevision: 5, onChange: () => undefined }).catch((e: FlotillaError) => e);
    expect((err as FlotillaError).code).to.equal(ErrorCode.Expired);
    expect(a.seen.at(-1)).to.equal("update y@10");
  });

  it("stops the underlying watch when the last subscriber stops", async () => {
    const a = await first([["x", 3]], 3);
    const b = informer();
    await b.inf.start();
    a.inf.stop();
    expect(s.opened[0]!.stopped).to.equal(false);
    expect(shared.open).to.equal(1);
    b.inf.stop();
    expect(s.opened[0]!.stopped).to.equal(true);
    expect(shared.open).to.equal(0);
  });

  it("ends every subscription of an actor when the actor stops, also those of informers it never stopped", async () => {
    const a = await first([["x", 3]], 3);
    const mine = shared.forActor();
    const leaked = new Informer<ConfigMap>({} as NatsConnection, "test", { resource: "configmaps", watch: mine.watch, log: quietLog });
    const seen: string[] = [];
    leaked.addHandlers({ update: (_o, o) => void seen.push(o.metadata.resourceVersion!) });
    await leaked.start();
    s.opened[0]!.opts.onChange(put("x", 4, false));
    mine.stop();
    s.opened[0]!.opts.onChange(put("x", 5, false));
    expect(seen).to.deep.equal(["4"]);
    expect(a.seen.at(-1)).to.equal("update x@5");
    a.inf.stop();
    expect(s.opened[0]!.stopped, "no subscriber left").to.equal(true);
    leaked.stop();
  });

  it("runs each subscriber's handlers in its own actor's scope; one that throws does not stop the others", async () => {
    const crashed: string[] = [];
    const scopeOf = (id: string) => ({ kind: "test", id, crash: () => void crashed.push(id) });
    const inScope: string[] = [];
    const a = informer();
    const b = informer();
    let throwing = true;
    a.inf.addHandlers({
      update: () => {
        inScope.push(`a:${currentActor()?.id}`);
        if (throwing) throw new Error("handler bug");
      },
    });
    b.inf.addHandlers({ update: () => void inScope.push(`b:${currentActor()?.id}`) });
    const started = runInActorScope(scopeOf("A"), () => a.inf.start());
    await waitFor(() => s.opened.length === 1);
    s.opened[0]!.opts.onChange(put("x", 3, true));
    s.opened[0]!.synced(3);
    await started;
    await runInActorScope(scopeOf("B"), () => b.inf.start());
    const w = s.opened[0]!;
    w.opts.onChange(put("x", 4, false));
    w.opts.onChange(put("x", 5, false));
    expect(inScope).to.deep.equal(["a:A", "b:B", "b:B"]);
    expect(b.seen).to.deep.equal(["add x@3", "update x@4", "update x@5"]);
    // The throwing one resumes on its own (as after any broken watch) and catches up.
    throwing = false;
    await waitFor(() => a.inf.revision === 5 && a.inf.get("default", "x")?.metadata.resourceVersion === "5", { what: "the failed subscriber caught up" });
    w.opts.onChange(put("x", 6, false));
    expect(a.seen.at(-1)).to.equal("update x@6");
    expect(b.seen.at(-1)).to.equal("update x@6");
    expect(inScope.slice(-2).sort()).to.deep.equal(["a:A", "b:B"]);
    expect(s.live().length).to.equal(1);
  });

  it("hands a late subscriber a large snapshot in time slices: timers run meanwhile, and a change made then wins over the snapshot", async () => {
    const count = 20_000;
    await first(Array.from({ length: count }, (_, i): [string, number] => [`o${i}`, i + 1]), count);
    const w = s.opened[0]!;
    const last = `o${count - 1}`;
    const b = informer();
    // Each add costs a little, as a real handler does: the whole snapshot takes well over one slice.
    b.inf.addHandlers({ add: () => spin(0.02) });
    const ticks: number[] = [];
    const timer = setInterval(() => {
      // The last key: whether the first tick falls in the hand-over or in the informer's diff, it
      // has not been handed to the handlers yet.
      if (ticks.length === 0) w.opts.onChange(put(last, count + 1, false));
      ticks.push(b.seen.length);
    }, 0);
    try {
      await b.inf.start();
    } finally {
      clearInterval(timer);
    }
    expect(ticks.length, "timers ran while the new informer started").to.be.at.least(2);
    expect(ticks.some((n) => n > 0 && n < count), `handlers were called in slices too (adds seen at each tick: ${ticks.join(",")})`).to.equal(true);
    expect(b.seen.length).to.equal(count);
    expect(b.seen.filter((x) => x.startsWith(`add ${last}@`))).to.deep.equal([`add ${last}@${count + 1}`]);
    expect(b.inf.get("default", last)!.metadata.resourceVersion).to.equal(String(count + 1));
    expect(b.inf.list().length).to.equal(count);
  });

  it("fails the join of a subscriber whose stream expires while it takes the snapshot, instead of calling it synced", async () => {
    const count = 20_000;
    await first(Array.from({ length: count }, (_, i): [string, number] => [`o${i}`, i + 1]), count);
    const errors: FlotillaError[] = [];
    let delivered = 0;
    s.refuseNextWith(new FlotillaError(ErrorCode.Expired, "too old resource version"));
    const joining = shared.watch({} as NatsConnection, s.opened[0]!.bucket, {
      filter: s.opened[0]!.filter,
      onChange: () => (spin(0.05), delivered++),
      onError: (e) => void errors.push(e),
    });
    // The stream breaks at once; its resume (after 100 ms) finds the revision gone, mid-snapshot.
    s.opened[0]!.opts.onError!(new FlotillaError(ErrorCode.Unavailable, "watch closed"));
    const err = await joining.then(
      () => undefined,
      (e: unknown) => e as FlotillaError,
    );
    expect(delivered, "the snapshot was cut short").to.be.below(count);
    expect(err?.code).to.equal(ErrorCode.Expired);
    expect(errors, "the failure is the join's, not a later onError").to.deep.equal([]);
  });
});

/** Busy for `ms` milliseconds. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

