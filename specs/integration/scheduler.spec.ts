/**
 * The scheduler against a real nats-server and store actor: simulated nodes are plain Node objects
 * (capacity, labels, taints); pods are created through the store and bound by the scheduler.
 */
import { expect } from "chai";
import type { Event, Node, Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { milliCpu } from "../../bus/quantity.ts";
import { decode } from "../../bus/codec.ts";

const ZONE = "topology.kubernetes.io/zone";

function mkNode(name: string, zone: string, o: { cpu?: string; taint?: [string, string]; labels?: Record<string, string> } = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, [ZONE]: zone, ...o.labels } },
    spec: o.taint ? { taints: [{ key: o.taint[0], value: o.taint[1], effect: "NoSchedule" }] } : {},
    status: { capacity: { cpu: o.cpu ?? "4", memory: "8Gi", pods: "110" }, allocatable: { cpu: o.cpu ?? "4", memory: "8Gi", pods: "110" } },
  };
}

function mkPod(name: string, spec: Partial<Pod["spec"]> = {}, labels: Record<string, string> = {}, cpu = "100m"): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu, memory: "64Mi" } } }], ...spec },
  };
}

async function pods(c: TestCluster): Promise<Pod[]> {
  return (await c.store.list<Pod>("pods", "default")).items;
}

describe("scheduler (integration)", function () {
  this.timeout(30_000);

  describe("with a mixed workload", () => {
    let c: TestCluster;
    before(async () => {
      c = await startTestCluster({ actors: [{ def: scheduler, opts: { initialBackoffMs: 100, maxBackoffMs: 500 } }] });
      await c.store.create("nodes", undefined, mkNode("a1", "a"));
      await c.store.create("nodes", undefined, mkNode("a2", "a"));
      await c.store.create("nodes", undefined, mkNode("b1", "b"));
      await c.store.create("nodes", undefined, mkNode("b2", "b"));
      await c.store.create("nodes", undefined, mkNode("gpu", "c", { taint: ["dedicated", "gpu"], labels: { accelerator: "gpu" } }));
    });
    after(() => c?.stop());

    it("places every pod where its selectors, tolerations, spread and capacity allow", async () => {
      const tol = [{ key: "dedicated", operator: "Equal" as const, value: "gpu", effect: "NoSchedule" as const }];
      await c.store.create("pods", "default", mkPod("trainer", { nodeSelector: { accelerator: "gpu" }, tolerations: tol }));
      const spread = [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule" as const, labelSelector: { matchLabels: { app: "web" } } }];
      const inAB = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In" as const, values: ["a", "b"] }] }] } } };
      for (let i = 0; i < 6; i++) await c.store.create("pods", "default", mkPod(`web-${i}`, { topologySpreadConstraints: spread, affinity: inAB }, { app: "web" }));
      for (let i = 0; i < 4; i++) await c.store.create("pods", "default", mkPod(`big-${i}`, {}, { app: "big" }, "3"));
      const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] } };
      for (let i = 0; i < 2; i++) await c.store.create("pods", "default", mkPod(`db-${i}`, { affinity: anti }, { app: "db" }));
      await c.store.create("pods", "default", mkPod("other", { schedulerName: "someone-else" }));

      const all = await waitFor(async () => {
        const ps = await pods(c);
        return ps.filter((p) => p.metadata.name !== "other").every((p) => p.spec.nodeName) ? ps : undefined;
      }, { what: "all pods bound" });
      const on = (n: string) => all.find((p) => p.metadata.name === n)!.spec.nodeName;

      expect(on("trainer")).to.equal("gpu");
      expect(on("other")).to.equal(undefined);
      const zoneOf = (node: string | undefined) => ({ a1: "a", a2: "a", b1: "b", b2: "b", gpu: "c" })[node as "a1"];
      const webZones = all.filter((p) => p.metadata.labels?.app === "web").map((p) => zoneOf(p.spec.nodeName));
      expect(webZones.filter((z) => z === "a")).to.have.length(3);
      expect(webZones.filter((z) => z === "b")).to.have.length(3);
      // Only the trainer tolerates the gpu node's taint.
      expect(all.filter((p) => p.spec.nodeName === "gpu").map((p) => p.metadata.name)).to.deep.equal(["trainer"]);
      // Capacity: no node holds more cpu than it has (the big pods need one node each).
      const cpu = new Map<string, number>();
      for (const p of all) if (p.spec.nodeName) cpu.set(p.spec.nodeName, (cpu.get(p.spec.nodeName) ?? 0) + milliCpu(p.spec.containers[0]!.resources!.requests!.cpu));
      for (const [, used] of cpu) expect(used).to.be.at.most(4000);
      expect(new Set(all.filter((p) => p.metadata.labels?.app === "big").map((p) => p.spec.nodeName)).size).to.equal(4);
      expect(on("db-0")).to.not.equal(on("db-1"));
      // The store marks bound pods PodScheduled=True.
      expect(all.find((p) => p.metadata.name === "trainer")!.status?.conditions?.find((x) => x.type === "PodScheduled")?.status).to.equal("True");
    });

    it("records a Scheduled event for a bound pod", async () => {
      const ev = await waitFor(async () =>
        (await c.store.list<Event>("events", "default")).items.find((e) => e.reason === "Scheduled" && e.involvedObject.name === "trainer"),
      { what: "Scheduled event" });
      expect(ev.message).to.equal("Successfully assigned default/trainer to gpu");
      expect(ev.source?.component).to.equal("default-scheduler");
    });

    it("reports an unschedulable pod with FailedScheduling and PodScheduled=False, then places it when a node frees up", async () => {
      await c.store.create("pods", "default", mkPod("huge", {}, {}, "6"));
      const ev = await waitFor(async () =>
        (await c.store.list<Event>("events", "default")).items.find((e) => e.reason === "FailedScheduling" && e.involvedObject.name === "huge"),
      { what: "FailedScheduling event" });
      expect(ev.type).to.equal("Warning");
      expect(ev.message).to.match(/^0\/5 nodes are available: .*1 node\(s\) had untolerated taint \{dedicated: gpu\}.*4 Insufficient cpu\. preemption: /);
      const cond = await waitFor(async () => {
        const p = await c.store.get<Pod>("pods", "default", "huge");
        return p.status?.conditions?.find((x) => x.type === "PodScheduled" && x.status === "False");
      }, { what: "PodScheduled=False" });
      expect(cond.reason).to.equal("Unschedulable");

      await c.store.create("nodes", undefined, mkNode("roomy", "b", { cpu: "8" }));
      const p = await waitFor(async () => {
        const x = await c.store.get<Pod>("pods", "default", "huge");
        return x.spec.nodeName ? x : undefined;
      }, { what: "huge bound after a node was added" });
      expect(p.spec.nodeName).to.equal("roomy");
    });
  });

  describe("with a leader and a standby", () => {
    let c: TestCluster;
    after(() => c?.stop());

    it("hands scheduling to the standby when the leader dies, binding no pod twice", async () => {
      c = await startTestCluster({ leaseDurationMs: 1500 });
      for (let i = 0; i < 20; i++) await c.store.create("nodes", undefined, mkNode(`n${i}`, i % 2 ? "a" : "b"));
      // Every write to a pod, in order, from the store's event feed.
      const binds = new Map<string, string[]>();
      const sub = c.nc.subscribe(`flotilla.${c.cluster}.events.pods.default.>`, {
        callback: (_e, m) => {
          if (m.data.length === 0) return;
          const p = decode<Pod>(m.data);
          const seen = binds.get(p.metadata.name!) ?? [];
          if (p.spec.nodeName && seen[seen.length - 1] !== p.spec.nodeName) seen.push(p.spec.nodeName);
          binds.set(p.metadata.name!, seen);
        },
      });
      const h1 = await c.startActors([{ def: scheduler, opts: {} }]);
      const h2 = await c.startActors([{ def: scheduler, opts: {} }]);
      const leader = await waitFor(() => [h1, h2].find((h) => h.actors[0]!.isLeader()), { what: "a leader" });
      const standby = leader === h1 ? h2 : h1;

      const create = (from: number, n: number) => Promise.all(Array.from({ length: n }, (_, i) => c.store.create("pods", "default", mkPod(`p-${from + i}`))));
      await create(0, 50);
      await waitFor(async () => (await pods(c)).filter((p) => p.spec.nodeName).length >= 10, { what: "first binds" });
      // Kill the leader: its connection goes away without releasing the Lease.
      await leader.actors[0]!.nc.close();
      await create(50, 50);
      await waitFor(() => standby.actors[0]!.isLeader(), { timeoutMs: 10_000, what: "standby takes over" });
      const all = await waitFor(async () => {
        const ps = await pods(c);
        return ps.length === 100 && ps.every((p) => p.spec.nodeName) ? ps : undefined;
      }, { timeoutMs: 15_000, what: "all 100 pods bound" });
      sub.unsubscribe();
      expect(all).to.have.length(100);
      for (const [name, nodes] of binds) expect(nodes, name).to.have.length(1);
      expect(binds.size).to.equal(100);
    });
  });
});
