import { expect } from "chai";
import type { ActorDefinition } from "../../runtime/actor.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { ConfigMap } from "../../bus/resources.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startActor, pingActors } from "../../runtime/host.ts";
import { storeActor } from "../../actors/store/index.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { Informer } from "../../runtime/informer.ts";

describe("runtime", () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ leaseDurationMs: 1500 });
  });
  after(async () => c?.stop());

  it("restarts an actor that crashes, with back-off and a log line", async () => {
    let starts = 0;
    const flaky: ActorDefinition = {
      kind: "flaky",
      async start(ctx) {
        starts++;
        if (starts < 3) setTimeout(() => ctx.crash(new Error(`boom ${starts}`)), 10);
        return { stop: async () => undefined };
      },
    };
    const a = await startActor({ def: flaky }, { natsUrl: c.url, cluster: c.cluster });
    await waitFor(() => starts >= 3, { what: "third start" });
    expect(a.supervisor.restartCount).to.equal(2);
    await a.stop();
  });

  it("hands leadership to a standby within the lease duration when the leader dies", async () => {
    const running = new Set<string>();
    const def: ActorDefinition = {
      kind: "singleton",
      leaderElected: true,
      async start(ctx) {
        running.add(ctx.id);
        return { stop: async () => void running.delete(ctx.id) };
      },
    };
    const a = await startActor({ def }, { natsUrl: c.url, cluster: c.cluster, leaseDurationMs: 1500 });
    const b = await startActor({ def }, { natsUrl: c.url, cluster: c.cluster, leaseDurationMs: 1500 });
    await waitFor(() => running.size === 1, { what: "one leader" });
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    expect(standby.isLeader()).to.equal(false);
    // Kill the leader without releasing the lease: close its connection abruptly.
    await leader.nc.close();
    const t0 = Date.now();
    await waitFor(() => standby.isLeader(), { timeoutMs: 5000, what: "standby to lead" });
    expect(Date.now() - t0).to.be.lessThan(1500 * 2 + 500);
    const pings = await pingActors(c.nc, c.cluster);
    expect(pings.filter((p) => p.kind === "singleton" && p.leader)).to.have.length(1);
    await standby.stop();
    await leader.supervisor.stop();
  });

  it("keeps serving requests when one of two store replicas is killed mid-run", async () => {
    const second = await startActor({ def: storeActor }, { natsUrl: c.url, cluster: c.cluster });
    // A request already handed to the killed replica is answered by nobody: it fails at the client's
    // timeout, so keep that short for the load.
    const client = new StoreClient(c.nc, c.cluster, 2000);
    // Each write is acknowledged (true), or failed (false): a failed one may still have landed, when
    // the replica wrote it and died before its reply, so only acknowledged writes must be there.
    const results: { name: string; acked: boolean }[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const name = `ha-${i}`;
        try {
          await client.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name } } as ConfigMap);
          results.push({ name, acked: true });
        } catch {
          results.push({ name, acked: false });
        }
      }
    })();
    try {
      await waitFor(() => results.length > 50);
      await second.nc.close(); // the replica dies without draining
      const before = results.length;
      await waitFor(() => results.length > before + 100, { timeoutMs: 20_000 });
    } finally {
      stop = true;
      await load;
      await second.supervisor.stop();
    }
    const failed = results.filter((r) => !r.acked);
    expect(failed.length).to.be.at.most(1); // at most the request in flight on the killed replica
    const stored = new Set((await c.store.list("configmaps", "default")).items.map((o) => o.metadata.name!));
    const lost = results.filter((r) => r.acked && !stored.has(r.name)).map((r) => r.name);
    expect(lost, "acknowledged writes missing").to.deep.equal([]);
    const extra = [...stored].filter((n) => n.startsWith("ha-") && !results.some((r) => r.name === n));
    expect(extra, "writes nobody sent").to.deep.equal([]);
  });

  it("informer sees adds, updates and deletes and the work queue runs each key once at a time", async () => {
    const seen: string[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const q = new WorkQueue(async (key) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      seen.push(key);
      await new Promise((r) => setTimeout(r, 5));
      concurrent--;
    }, { concurrency: 4 });
    const inf = new Informer<ConfigMap>(c.nc, c.cluster, { resource: "configmaps", namespace: "kube-public" });
    const events: string[] = [];
    inf.addHandlers({
      add: (o) => (events.push(`add ${o.metadata.name}`), q.add(o.metadata.name!)),
      update: (_o, n) => (events.push(`update ${n.metadata.name}`), q.add(n.metadata.name!)),
      delete: (o) => (events.push(`delete ${o.metadata.name}`), q.add(o.metadata.name!)),
    });
    await inf.start();
    const o = await c.store.create("configmaps", "kube-public", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "inf" } } as ConfigMap);
    await c.store.update("configmaps", { ...o, data: { a: "b" } } as ConfigMap);
    await c.store.delete("configmaps", "kube-public", "inf");
    await waitFor(() => events.length >= 3);
    expect(events).to.deep.equal(["add inf", "update inf", "delete inf"]);
    await q.idle();
    expect(inf.get("kube-public", "inf")).to.equal(undefined);
    expect(maxConcurrent).to.equal(1);
    inf.stop();
    await q.shutdown();
  });
});
