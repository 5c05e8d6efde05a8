import { expect } from "chai";
import type { Deployment, Namespace } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { FakeKubelet } from "../harness/fake-kubelet.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startFakeKubelet } from "../harness/fake-kubelet.ts";
import { namespaceController } from "../../actors/namespace-controller/index.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";
import { garbageCollector } from "../../actors/garbage-collector/index.ts";
import { namespacedResources } from "../../actors/namespace-controller/namespace.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";

const NS = "team";

describe("namespace controller (integration)", function () {
  this.timeout(30_000);
  let c: TestCluster;
  let kubelet: FakeKubelet;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: namespaceController }, { def: deploymentController }, { def: replicationController }, { def: garbageCollector }] });
    kubelet = await startFakeKubelet(c.nc, c.cluster);
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  it("deleting a namespace empties it, then removes the namespace", async () => {
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    const d: Deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    };
    await c.store.create("deployments", NS, d);
    await c.store.create("configmaps", NS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: NS }, data: { a: "b" } });
    await c.store.create("secrets", NS, { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: NS }, data: { a: "Yg==" } });
    await waitFor(async () => (await c.store.list("pods", NS)).items.length === 3, { what: "3 pods" });

    await c.store.delete("namespaces", undefined, NS);
    const marked = await c.store.get<Namespace>("namespaces", undefined, NS).catch(() => undefined);
    if (marked) expect(marked.status?.phase).to.equal("Terminating");
    await waitFor(() => c.store.get("namespaces", undefined, NS).then(() => false, (e) => isCode(e, ErrorCode.NotFound)), { what: "namespace removed", timeoutMs: 20_000 });
    for (const r of namespacedResources()) {
      expect((await c.store.list(r, NS)).items.map((o) => o.metadata.name), r).to.deep.equal([]);
    }
  });
});
