/**
 * The controller runner with scripted informers and a recording store: the sync gate, and what
 * happens to retryable and terminal failures.
 */
import { expect } from "chai";
import { match } from "ts-pattern";
import type { ConfigMap, Event, KubeObject } from "../../bus/resources.ts";
import type { InformerHandlers, Source } from "../../runtime/informer.ts";
import type { Controller, ControllerDefinition } from "../../runtime/controller.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { Outcome, classify, failedReason, on, startController } from "../../runtime/controller.ts";
import { waitFor } from "../harness/cluster.ts";
import { quietLog } from "../harness/quiet-log.ts";

/** An informer whose first list completes when the spec says so. */
class ScriptedSource<T extends KubeObject> implements Source<T> {
  synced = false;
  private readonly handlers: InformerHandlers<T>[] = [];
  private release!: () => void;
  private readonly listed = new Promise<void>((r) => (this.release = r));
  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }
  async start(): Promise<void> {
    await this.listed;
    this.synced = true;
  }
  stop(): void {}
  finishList(): void {
    this.release();
  }
  add(o: T): void {
    for (const h of this.handlers) h.add?.(o);
  }
}

/** The store as the Event recorder uses it. */
function eventStore() {
  const created: Event[] = [];
  const patched: { name: string; patch: Record<string, unknown> }[] = [];
  return {
    created,
    patched,
    store: {
      create: async <T extends KubeObject>(_r: string, _ns: string | undefined, o: KubeObject) => (created.push(o as Event), o as T),
      patch: async <T extends KubeObject>(_r: string, _ns: string | undefined, name: string, _t: string, patch: unknown) => (
        patched.push({ name, patch: patch as Record<string, unknown> }), {} as T
      ),
    },
  };
}

const cm = (name: string, generation = 1): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default", uid: `uid-${name}`, generation, resourceVersion: "1" },
});

type Cmd = { type: "configmap.write"; name: string } | { type: "configmap.touch"; name: string };

const flush = () => new Promise((r) => setImmediate(r));

describe("controller runner", () => {
  let running: Controller | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  /** A controller over one scripted informer whose executor does what `outcome` says per command. */
  async function run(o: { sources?: ScriptedSource<ConfigMap>[]; outcome: (c: Cmd, attempt: number) => void; commands?: (name: string) => Cmd[] }) {
    const sources = o.sources ?? [new ScriptedSource<ConfigMap>()];
    const objects = new Map<string, ConfigMap>();
    const attempts: string[] = [];
    const views: number[] = [];
    const events = eventStore();
    const def: ControllerDefinition<{ object?: ConfigMap; sizes: number }, Cmd> = {
      component: "spec-controller",
      informers: sources,
      watches: sources.map((s) => on(s, { add: (c) => c.metadata.name })),
      view: (key) => ({ object: objects.get(key), sizes: objects.size }),
      objectOf: (v) => v.object,
      reconcile: (key, v) => (views.push(v.sizes), { commands: o.commands?.(key) ?? [{ type: "configmap.write", name: key }] }),
      execute: (c) =>
        match(c)
          .with({ type: "configmap.write" }, { type: "configmap.touch" }, async (c) => {
            attempts.push(`${c.type} ${c.name}`);
            o.outcome(c, attempts.filter((a) => a === `${c.type} ${c.name}`).length);
          })
          .exhaustive(),
      baseDelayMs: 5,
      maxDelayMs: 20,
    };
    const starting = startController({ store: events.store, log: quietLog, now: Date.now }, def).then((c) => (running = c));
    const put = (c: ConfigMap) => {
      objects.set(c.metadata.name!, c);
      sources[0]!.add(c);
    };
    return { sources, starting, attempts, views, events, put };
  }

  describe("sync gate", () => {
    it("reconciles no key before every informer has its first list", async () => {
      const a = new ScriptedSource<ConfigMap>();
      const b = new ScriptedSource<ConfigMap>();
      const r = await run({ sources: [a, b], outcome: () => undefined });
      a.finishList();
      r.put(cm("x"));
      for (let i = 0; i < 5; i++) await flush();
      expect(r.attempts, "nothing runs while one informer is still listing").to.deep.equal([]);
      r.put(cm("y"));
      b.finishList();
      await r.starting;
      await waitFor(() => r.attempts.length === 2, { what: "both keys" });
      expect(r.views, "every pass saw the full cache").to.deep.equal([2, 2]);
    });
  });

  describe("errors", () => {
    it("classifies Conflict, Unavailable, Timeout, TooManyRequests and unknown errors as retryable; Invalid, Forbidden and NotFound as terminal", () => {
      const f = (c: ErrorCode) => classify(new FlotillaError(c, "x"));
      expect([ErrorCode.Conflict, ErrorCode.Unavailable, ErrorCode.Timeout, ErrorCode.TooManyRequests].map(f)).to.deep.equal(Array(4).fill(Outcome.Retry));
      expect(classify(new Error("socket hang up"))).to.equal(Outcome.Retry);
      expect([ErrorCode.Invalid, ErrorCode.Forbidden, ErrorCode.NotFound].map(f)).to.deep.equal(Array(3).fill(Outcome.Terminal));
      expect(failedReason("pods.create")).to.equal("FailedCreate");
      expect(failedReason("object.drop-owner-refs")).to.equal("FailedDropOwnerRefs");
    });

    it("backs a retryable failure off on the queue until it succeeds, recording no Event", async () => {
      const r = await run({
        outcome: (_c, attempt) => {
          if (attempt < 3) throw new FlotillaError(ErrorCode.Conflict, "the object has been modified");
        },
      });
      r.sources[0]!.finishList();
      const c = await r.starting;
      r.put(cm("x"));
      await waitFor(() => r.attempts.length === 3, { what: "the third attempt" });
      await c.queue.idle();
      expect(c.queue.retries("x"), "success forgets the failures").to.equal(0);
      await c.events.flush();
      expect(r.events.created).to.deep.equal([]);
    });

    it("turns a terminal failure into one Warning Event, goes on with the pass, and does not retry until the object changes", async () => {
      const r = await run({
        commands: (name) => [{ type: "configmap.write", name }, { type: "configmap.touch", name }],
        outcome: (c) => {
          if (c.type === "configmap.write") throw new FlotillaError(ErrorCode.Forbidden, 'configmaps "x" is forbidden');
        },
      });
      r.sources[0]!.finishList();
      const c = await r.starting;
      r.put(cm("x"));
      await waitFor(() => r.attempts.length === 2);
      await c.queue.idle();
      expect(r.attempts).to.deep.equal(["configmap.write x", "configmap.touch x"]);
      expect(c.queue.waiting, "no retry is scheduled").to.equal(0);
      await c.events.flush();
      expect(r.events.created.map((e) => [e.type, e.reason, e.message, e.involvedObject.name])).to.deep.equal([
        ["Warning", "FailedWrite", 'configmaps "x" is forbidden', "x"],
      ]);

      // The same object again (a resync, an unrelated change): the failed command stays held.
      r.put(cm("x"));
      await waitFor(() => r.attempts.length === 3);
      await c.queue.idle();
      expect(r.attempts.slice(2)).to.deep.equal(["configmap.touch x"]);

      // A new generation: tried again; the repeat counts on the same Event.
      r.put(cm("x", 2));
      await waitFor(() => r.attempts.length === 5);
      await c.queue.idle();
      await c.events.flush();
      expect(r.attempts.slice(3)).to.deep.equal(["configmap.write x", "configmap.touch x"]);
      expect(r.events.created).to.have.length(1);
      expect(r.events.patched.map((p) => p.patch.count)).to.deep.equal([2]);
    });
  });
});
