import { expect } from "chai";
import type { TestCluster } from "../harness/cluster.ts";
import type { Lease, Node, Pod } from "../../bus/resources.ts";
import type { NodePool } from "../../actors/kubelet/pool.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startNodePool } from "../../actors/kubelet/pool.ts";
import { podOf, waitPod, running, checkRestartPolicies, expectRestartPolicies } from "../actors/kubelet/behaviours.ts";

describe("kubelet simulated node pool", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let pool: NodePool;
  const COUNT = 1000;

  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await pool?.stop();
    await cluster?.stop();
  });

  it("registers 1,000 nodes in one process and keeps all their Leases fresh", async () => {
    const t0 = Date.now();
    pool = await startNodePool({ nc: cluster.nc, cluster: cluster.cluster, count: COUNT, namePrefix: "sim-", leaseDurationSeconds: 10, renewIntervalMs: 2000 });
    const registeredMs = Date.now() - t0;
    const nodes = await cluster.store.list<Node>("nodes");
    const sims = nodes.items.filter((n) => n.metadata.name!.startsWith("sim-"));
    expect(sims).to.have.length(COUNT);
    expect(sims.every((n) => n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True")).to.equal(true);
    const first = new Map((await cluster.store.list<Lease>("leases", "kube-node-lease")).items.map((l) => [l.metadata.name!, l.spec.renewTime]));
    expect(first.size).to.equal(COUNT);
    // Every lease is renewed again, and none is older than its duration.
    await waitFor(async () => {
      const leases = (await cluster.store.list<Lease>("leases", "kube-node-lease")).items;
      return leases.length === COUNT && leases.every((l) => l.spec.renewTime !== first.get(l.metadata.name!));
    }, { what: "all leases renewed", timeoutMs: 30_000, intervalMs: 500 });
    const now = Date.now();
    const leases = (await cluster.store.list<Lease>("leases", "kube-node-lease")).items;
    const oldest = Math.max(...leases.map((l) => now - Date.parse(l.spec.renewTime!)));
    expect(oldest, `oldest lease age (registration took ${registeredMs} ms)`).to.be.lessThan(10_000);
  });

  it("runs pods bound to simulated nodes, with fake pod IPs", async () => {
    const pods = [podOf("sim-7", [{ name: "c", image: "nginx" }]), podOf("sim-999", [{ name: "c", image: "nginx" }])];
    for (const p of pods) await cluster.store.create("pods", "default", p);
    const done = await Promise.all(pods.map((p) => waitPod(cluster, p, running, "simulated pod running")));
    for (const p of done) expect(p.status!.podIP).to.match(/^10\.244\./);
    expect(done[0]!.status!.hostIP).to.not.equal(done[1]!.status!.hostIP);
  });

  it("honours restartPolicy: Never restarts nothing, OnFailure restarts only a failed container", async () => {
    const sh = (script: string) => [{ name: "c", image: "busybox", command: ["sh", "-c", script] }];
    const never = podOf("sim-4", sh("exit 3"), { restartPolicy: "Never" });
    const done = podOf("sim-5", sh("exit 0"), { restartPolicy: "OnFailure" });
    const retried = podOf("sim-6", sh("exit 1"), { restartPolicy: "OnFailure" });
    for (const p of [never, done, retried]) await cluster.store.create("pods", "default", p);
    expectRestartPolicies(await checkRestartPolicies(cluster, never, done, retried));
  });

  it("finalizes a deleted simulated pod", async () => {
    const p = podOf("sim-3", [{ name: "c", image: "nginx" }]);
    await cluster.store.create("pods", "default", p);
    await waitPod(cluster, p, running, "running");
    await cluster.store.delete("pods", "default", p.metadata.name!);
    await waitFor(async () => !(await cluster.store.get<Pod>("pods", "default", p.metadata.name!).catch(() => undefined)), { what: "pod removed" });
  });
});
