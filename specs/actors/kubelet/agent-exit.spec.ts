/**
 * The pod worker against an engine that reports a container's exit before its list shows it
 * exited, as dockerd can (its `die` event races the state the container list reads).
 */
import { expect } from "chai";
import type { TestCluster } from "../../harness/cluster.ts";
import type { Pod } from "../../../bus/resources.ts";
import type { EngineContainer } from "../../../actors/kubelet/engines/types.ts";
import { startTestCluster, waitFor } from "../../harness/cluster.ts";
import { quietLog } from "../../harness/quiet-log.ts";
import { SimulatedEngine } from "../../../actors/kubelet/engines/simulated.ts";
import { NodeAgent } from "../../../actors/kubelet/agent.ts";

/** Lists an exited container as still running for `lagMs` after it exited. */
class LaggingEngine extends SimulatedEngine {
  constructor(private readonly lagMs: number) {
    super();
  }
  override async listContainers(): Promise<EngineContainer[]> {
    const now = Date.now();
    return (await super.listContainers()).map((c) =>
      c.state === "exited" && c.finishedAt && now - Date.parse(c.finishedAt) < this.lagMs ? { ...c, state: "running", exitCode: undefined, finishedAt: undefined, reason: undefined } : c,
    );
  }
}

describe("kubelet pod worker", function () {
  this.timeout(20_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c?.stop();
  });
  /** A pod worker for one node whose informer cache is `pods` (no informer: the spec fills it). */
  const agentFor = (nodeName: string, engine: SimulatedEngine, pods: Map<string, Pod>) =>
    new NodeAgent({
      nodeName,
      hostIP: "127.0.0.1",
      engine,
      store: c.store,
      log: quietLog,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      getPod: (ns, name) => pods.get(`${ns}/${name}`),
    });

  it("sees an exit that the engine reported before its container list showed it, without waiting for the periodic sync", async () => {
    const engine = new LaggingEngine(300);
    const pods = new Map<string, Pod>();
    const agent = agentFor("lag-node", engine, pods);
    try {
      const created = await c.store.create<Pod>("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "lag-done" },
        spec: { nodeName: "lag-node", restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "exit 0"] }] },
      } as Pod);
      pods.set("default/lag-done", created);
      agent.enqueue(created);
      // Nothing else queues the pod again: no periodic sync and no informer in this spec.
      const done = await waitFor(async () => {
        const p = await c.store.get<Pod>("pods", "default", "lag-done");
        return p.status?.phase === "Succeeded" ? p : undefined;
      }, { timeoutMs: 5_000, what: "the pod Succeeded" });
      expect(done.status!.containerStatuses![0]!.state?.terminated?.exitCode).to.equal(0);
    } finally {
      await agent.stop();
      await engine.close();
    }
  });

  it("never turns a pod that someone else failed back to Running, though its cache still shows it Pending", async () => {
    const engine = new SimulatedEngine();
    const pods = new Map<string, Pod>();
    const agent = agentFor("stale-node", engine, pods);
    try {
      const created = await c.store.create<Pod>("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "failed-outside" },
        spec: { nodeName: "stale-node", restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] },
      } as Pod);
      // The cache keeps the pod as created; the stored pod is failed from outside (as a Job spec or an eviction does).
      pods.set("default/failed-outside", created);
      const failed = await c.store.updateStatus<Pod>("pods", { ...created, status: { phase: "Failed", reason: "Evicted" } });
      agent.enqueue(created);
      await waitFor(async () => (await engine.listContainers()).length > 0, { timeoutMs: 5_000, what: "the stale sync to start the container" });
      await new Promise((r) => setTimeout(r, 500));
      expect((await c.store.get<Pod>("pods", "default", "failed-outside")).status?.phase).to.equal("Failed");
      // Once the cache catches up, the container the stale sync started is stopped.
      pods.set("default/failed-outside", failed);
      await waitFor(async () => (await engine.listContainers()).every((x) => x.state === "exited"), { timeoutMs: 5_000, what: "the container stopped" });
      expect((await c.store.get<Pod>("pods", "default", "failed-outside")).status?.phase).to.equal("Failed");
    } finally {
      await agent.stop();
      await engine.close();
    }
  });
});
