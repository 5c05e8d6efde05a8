import { expect } from "chai";
import type { Deployment, Pod, ReplicaSet } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { NodePool } from "../../actors/kubelet/pool.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { readyPods } from "../harness/fake-kubelet.ts";
import { startNodePool } from "../../actors/kubelet/pool.ts";
import { scheduler } from "../../actors/scheduler/index.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";

const NS = "default";

describe("workload controllers on simulated nodes (integration)", function () {
  this.timeout(60_000);
  let c: TestCluster;
  let pool: NodePool;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: scheduler }, { def: replicationController }, { def: deploymentController }] });
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).catch(() => undefined);
    pool = await startNodePool({ nc: c.nc, cluster: c.cluster, count: 3, namePrefix: "sim-" });
  });
  after(async () => {
    await pool?.stop();
    await c?.stop();
  });

  const ready = async (app: string) => readyPods((await c.store.list<Pod>("pods", NS, { labelSelector: `app=${app}` })).items);

  it("scales a Deployment 3 → 10 → 2 with pods scheduled and running on simulated kubelets", async () => {
    const d: Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "sim", namespace: NS },
      spec: { replicas: 3, selector: { matchLabels: { app: "sim" } }, template: { metadata: { labels: { app: "sim" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    };
    await c.store.create("deployments", NS, d);
    for (const n of [3, 10, 2]) {
      if (n !== 3) {
        await waitFor(async () => {
          const cur = await c.store.get<Deployment>("deployments", NS, "sim");
          return c.store.update("deployments", { ...cur, spec: { ...cur.spec, replicas: n } }).then(() => true);
        });
      }
      await waitFor(async () => {
        const pods = (await c.store.list<Pod>("pods", NS, { labelSelector: "app=sim" })).items;
        const cur = await c.store.get<Deployment>("deployments", NS, "sim");
        return (await ready("sim")).length === n && pods.length === n && pods.every((p) => p.spec.nodeName?.startsWith("sim-")) && cur.status?.availableReplicas === n;
      }, { what: `${n} pods running on simulated nodes`, timeoutMs: 20_000 });
    }
    const rss = (await c.store.list<ReplicaSet>("replicasets", NS, { labelSelector: "app=sim" })).items;
    expect(rss.map((r) => r.status?.readyReplicas)).to.deep.equal([2]);
  });
});
