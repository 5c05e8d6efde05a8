/**
 * Node controller against a real nats-server (system account advisories), the store, and kubelets
 * running in their own processes (simulated engine) that are SIGKILLed, frozen and resumed.
 */
import { expect } from "chai";
import type { Node, Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { NodeProcess } from "../../bench/node-process.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { nodeController } from "../../actors/node-controller/index.ts";
import { spawnNode } from "../../bench/node-process.ts";
import { TaintKey } from "../../actors/node-controller/taints.ts";

const ready = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === "Ready")?.status;

describe("node controller (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  const nodes: NodeProcess[] = [];

  const getNode = (name: string) => c.store.get<Node>("nodes", undefined, name).catch(() => undefined);
  async function startNode(name: string): Promise<NodeProcess> {
    const p = spawnNode({ natsUrl: c.url, cluster: c.cluster, nodeName: name });
    nodes.push(p);
    await waitFor(async () => ready(await getNode(name)) === "True", { timeoutMs: 20_000, what: `node ${name} Ready` });
    return p;
  }
  async function runPod(name: string, node: string): Promise<Pod> {
    await c.store.create("pods", "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }] },
    } as Pod);
    return waitFor(async () => {
      const p = await c.store.get<Pod>("pods", "default", name);
      return p.status?.phase === "Running" ? p : undefined;
    }, { what: `pod ${name} Running` });
  }
  const evicted = async (name: string) => {
    const p = await c.store.get<Pod>("pods", "default", name).catch(() => undefined);
    return !p || !!p.metadata.deletionTimestamp;
  };

  before(async () => {
    c = await startTestCluster({ leaseDurationMs: 2000 });
    await c.startActors([{ def: nodeController, opts: { sysNatsUrl: c.sysUrl } }]);
  });
  after(async () => {
    for (const n of nodes) n.kill("SIGKILL");
    await Promise.all(nodes.map((n) => n.exited));
    await c?.stop();
  });

  it("adds default tolerations of 2 s for not-ready and unreachable at admission", async () => {
    await startNode("n1");
    const p = await runPod("tolerant", "n1");
    const secs = (p.spec.tolerations ?? []).filter((t) => t.key === TaintKey.unreachable || t.key === TaintKey.notReady).map((t) => t.tolerationSeconds);
    expect(secs).to.deep.equal([2, 2]);
  });

  it("marks a SIGKILLed kubelet's node Unknown within the disconnect grace and evicts its pods after their toleration", async () => {
    await startNode("n2");
    await runPod("on-n2", "n2");
    const n2 = nodes.find((n) => n.name === "n2")!;
    const t0 = Date.now();
    n2.kill("SIGKILL");
    await waitFor(async () => ready(await getNode("n2")) === "Unknown", { timeoutMs: 12_000, intervalMs: 20, what: "n2 Unknown" });
    const unknownAfter = Date.now() - t0;
    const node = await waitFor(async () => {
      const n = await getNode("n2");
      return (n?.spec.taints ?? []).length >= 2 ? n : undefined;
    }, { what: "n2 tainted" });
    expect(node.spec.taints?.map((t) => `${t.key}:${t.effect}`)).to.include.members([`${TaintKey.unreachable}:NoExecute`, `${TaintKey.unreachable}:NoSchedule`]);
    expect(node.status!.conditions!.find((x) => x.type === "Ready")!.reason).to.equal("NodeStatusUnknown");
    await waitFor(() => evicted("on-n2"), { timeoutMs: 10_000, intervalMs: 20, what: "pod on n2 evicted" });
    const evictedAfter = Date.now() - t0;
    expect(unknownAfter, "Unknown via the connection advisory, long before the 10 s lease grace").to.be.below(4_000);
    expect(evictedAfter, "evicted after the 2 s default toleration").to.be.within(2_000, 7_000);
    expect(await evicted("tolerant"), "pods of healthy nodes stay").to.equal(false);
  });

  it("marks a frozen (SIGSTOP) node Unknown within 15 s, and lifts its taints when it resumes", async () => {
    const n3 = await startNode("n3");
    await runPod("on-n3", "n3");
    const t0 = Date.now();
    n3.kill("SIGSTOP");
    try {
      await waitFor(async () => ready(await getNode("n3")) === "Unknown", { timeoutMs: 15_000, intervalMs: 50, what: "n3 Unknown" });
      expect(Date.now() - t0).to.be.below(15_000);
      await waitFor(() => evicted("on-n3"), { timeoutMs: 10_000, what: "pod on n3 evicted" });
    } finally {
      n3.kill("SIGCONT");
    }
    await waitFor(async () => {
      const n = await getNode("n3");
      return ready(n) === "True" && !(n?.spec.taints ?? []).some((t) => t.key === TaintKey.unreachable);
    }, { timeoutMs: 20_000, what: "n3 Ready again without the unreachable taint" });
  });

  it("evicts nothing when the NATS server restarts under 3 nodes", async () => {
    await startNode("n4");
    await startNode("n5");
    for (const [pod, node] of [["r1", "n1"], ["r4", "n4"], ["r5", "n5"]] as const) await runPod(pod, node);
    const seenUnknown = new Set<string>();
    const { startNatsServer } = await import("../../runtime/nats-server.ts");
    const { port, dataDir } = c.server;
    await c.server.stop();
    const restarted = await startNatsServer({ port, dataDir });
    const origStop = c.server.stop;
    c.server.stop = () => restarted.stop();
    void origStop;
    // Watch for 12 s (longer than the 10 s lease grace): no node turns Unknown, no pod is evicted.
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      for (const n of ["n1", "n4", "n5"]) if (ready(await getNode(n)) === "Unknown") seenUnknown.add(n);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([...seenUnknown]).to.deep.equal([]);
    for (const p of ["r1", "r4", "r5", "tolerant"]) expect(await evicted(p), p).to.equal(false);
  });
});
