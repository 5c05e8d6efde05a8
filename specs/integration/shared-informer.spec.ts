/**
 * Actors of one host share their informers' KV watch (runtime/shared-watch.ts): against a real
 * nats-server, two actors that each keep a pod informer leave one consumer on the bucket's stream,
 * and both see every change.
 */
import { expect } from "chai";
import type { ActorDefinition } from "../../runtime/actor.ts";
import type { Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { Informer } from "../../runtime/informer.ts";
import { subjects } from "../../bus/subjects.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";

/** Every pod change an actor's informer delivered, by actor. */
const seenBy = new Map<string, string[]>();

const podWatcher: ActorDefinition<{ name: string }> = {
  kind: "pod-watcher",
  async start(ctx, opts) {
    const seen: string[] = [];
    seenBy.set(opts.name, seen);
    const pods = new Informer<Pod>(ctx.nc, ctx.cluster, { resource: "pods", log: ctx.log });
    pods.addHandlers({
      add: (p) => void seen.push(`add ${p.metadata.name}`),
      update: (_o, p) => void seen.push(`update ${p.metadata.name} ${p.metadata.labels?.v ?? ""}`),
      delete: (p) => void seen.push(`delete ${p.metadata.name}`),
    });
    await pods.start();
    return { stop: async () => pods.stop() };
  },
};

const pod = (name: string, v: string): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels: { v } }, spec: { containers: [{ name: "c", image: "busybox" }] } }) as Pod;

describe("shared informers (real nats-server)", () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c?.stop();
  });

  /** Consumers on the main bucket's stream that watch pods. */
  async function podConsumers(): Promise<number> {
    const jsm = await jetstreamManager(c.nc);
    const s = subjects(c.cluster);
    let n = 0;
    for await (const ci of jsm.consumers.list(s.kvStream(s.bucket()))) {
      const f = ci.config.filter_subject ?? "";
      if (f.endsWith(".pods.>")) n++;
    }
    return n;
  }

  it("keeps one pod watch for two actors of a host, and both see every change", async () => {
    await c.store.create("pods", "default", pod("before", "1"));
    expect(await podConsumers()).to.equal(0);
    const host = await c.startActors([
      { def: podWatcher, opts: { name: "one" } },
      { def: podWatcher, opts: { name: "two" } },
    ]);
    try {
      await waitFor(() => seenBy.get("one")?.length === 1 && seenBy.get("two")?.length === 1, { what: "both informers synced" });
      expect(await podConsumers(), "one consumer on the stream for both informers").to.equal(1);
      const created = await c.store.create<Pod>("pods", "default", pod("after", "1"));
      await c.store.update("pods", { ...created, metadata: { ...created.metadata, labels: { v: "2" } } });
      await c.store.delete("pods", "default", "before");
      const want = ["add before", "add after", "update after 2", "delete before"];
      await waitFor(() => seenBy.get("one")?.length === 4 && seenBy.get("two")?.length === 4, { what: "every change in both" });
      expect(seenBy.get("one")).to.deep.equal(want);
      expect(seenBy.get("two")).to.deep.equal(want);
    } finally {
      await host.stop();
    }
  });
});
