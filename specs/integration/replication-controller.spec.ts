import { expect } from "chai";
import type { Pod, ReplicaSet, ReplicationController } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { FakeKubelet } from "../harness/fake-kubelet.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { startFakeKubelet, readyPods } from "../harness/fake-kubelet.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";

const NS = "default";

function replicaSet(name: string, replicas: number): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    },
  };
}

describe("replication controller (integration)", function () {
  this.timeout(30_000);
  let c: TestCluster;
  let kubelet: FakeKubelet;

  before(async () => {
    c = await startTestCluster({ actors: [{ def: replicationController }] });
    await waitFor(async () => (await c.store.list("namespaces")).items.some((n) => n.metadata.name === NS) || (await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).then(() => true, () => false)), { what: "namespace default" });
    kubelet = await startFakeKubelet(c.nc, c.cluster);
  });
  after(async () => {
    await kubelet?.stop();
    await c?.stop();
  });

  const podsOf = async (app: string) => (await c.store.list<Pod>("pods", NS, { labelSelector: `app=${app}` })).items;
  const live = (ps: Pod[]) => ps.filter((p) => !p.metadata.deletionTimestamp);

  it("scales a ReplicaSet 3 → 10 → 2 and its status follows", async () => {
    await c.store.create("replicasets", NS, replicaSet("web", 3));
    await waitFor(async () => readyPods(await podsOf("web")).length === 3, { what: "3 ready pods" });
    for (const n of [10, 2]) {
      // A merge patch, as `kubectl scale` sends: the controller may be writing the status meanwhile.
      await c.store.patch("replicasets", NS, "web", "merge", { spec: { replicas: n } });
      await waitFor(async () => {
        const s = (await c.store.get<ReplicaSet>("replicasets", NS, "web")).status;
        return live(await podsOf("web")).length === n && s?.readyReplicas === n && s.availableReplicas === n && s.replicas === n;
      }, { what: `${n} ready pods and status` });
    }
    const pods = live(await podsOf("web"));
    expect(pods.every((p) => /^web-[a-z0-9]{5}$/.test(p.metadata.name!))).to.equal(true);
    expect(pods.every((p) => p.metadata.ownerReferences?.[0]?.controller === true && p.metadata.ownerReferences[0].kind === "ReplicaSet")).to.equal(true);
    const rs = await c.store.get<ReplicaSet>("replicasets", NS, "web");
    expect(rs.status?.observedGeneration).to.equal(rs.metadata.generation);
  });

  it("replaces a deleted pod", async () => {
    const before = live(await podsOf("web"));
    const victim = before[0]!;
    await c.store.delete("pods", NS, victim.metadata.name!);
    await waitFor(async () => {
      const now = readyPods(await podsOf("web"));
      return now.length === 2 && !now.some((p) => p.metadata.uid === victim.metadata.uid);
    }, { what: "a replacement pod" });
  });

  it("adopts a matching orphan pod instead of creating one more", async () => {
    await c.store.create("pods", NS, { apiVersion: "v1", kind: "Pod", metadata: { name: "stray", namespace: NS, labels: { app: "solo" } }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    await c.store.create("replicasets", NS, replicaSet("solo", 1));
    const pod = await waitFor(async () => {
      const p = await c.store.get<Pod>("pods", NS, "stray");
      return p.metadata.ownerReferences?.some((r) => r.kind === "ReplicaSet" && r.name === "solo") ? p : undefined;
    }, { what: "adoption" });
    expect(pod.metadata.ownerReferences).to.have.length(1);
    await waitFor(async () => (await c.store.get<ReplicaSet>("replicasets", NS, "solo")).status?.readyReplicas === 1, { what: "status" });
    expect(live(await podsOf("solo")).map((p) => p.metadata.name)).to.deep.equal(["stray"]);
  });

  it("keeps a ReplicationController's pods at its count", async () => {
    const rc: ReplicationController = {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "legacy", namespace: NS },
      spec: { replicas: 2, selector: { app: "legacy" }, template: { metadata: { labels: { app: "legacy" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    };
    await c.store.create("replicationcontrollers", NS, rc);
    await waitFor(async () => (await c.store.get<ReplicationController>("replicationcontrollers", NS, "legacy")).status?.readyReplicas === 2, { what: "2 ready" });
    expect(live(await podsOf("legacy"))).to.have.length(2);
  });
});
