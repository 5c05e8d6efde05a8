/**
 * A write no retry can fix (the store answers Forbidden: the namespace is being terminated) costs
 * the replica set controller one attempt and one Event per change of the ReplicaSet — no retry
 * loop, no pile of Events.
 */
import { expect } from "chai";
import type { Event, ReplicaSet } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";

const NS = "closing";

describe("controller errors (integration)", function () {
  this.timeout(30_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: replicationController }] });
  });
  after(async () => c?.stop());

  // A merge patch, as `kubectl scale` sends: the controller may be writing the status meanwhile.
  const scale = (replicas: number) => c.store.patch("replicasets", NS, "web", "merge", { spec: { replicas } });
  const failedCreates = async () =>
    (await c.store.list<Event>("events", NS)).items.filter((e) => e.reason === "FailedCreate" && e.involvedObject.name === "web");
  const observed = async (generation: number) => (await c.store.get<ReplicaSet>("replicasets", NS, "web")).status?.observedGeneration === generation;

  it("records one FailedCreate Event for a Forbidden create and tries again only when the ReplicaSet changes", async () => {
    await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await c.store.create("replicasets", NS, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web" },
      spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    } as ReplicaSet);
    await waitFor(() => observed(1), { what: "the ReplicaSet seen by the controller" });
    // No namespace controller runs: the namespace stays Terminating and refuses new pods.
    await c.store.delete("namespaces", undefined, NS);

    await scale(2);
    const [first] = await waitFor(async () => {
      const evs = await failedCreates();
      return evs.length > 0 ? evs : undefined;
    }, { what: "a FailedCreate event" });
    expect(first!.type).to.equal("Warning");
    expect(first!.message).to.match(/^Error creating: .*being terminated/);
    await waitFor(() => observed(2), { what: "status of generation 2" });

    await scale(3);
    await waitFor(async () => (await failedCreates())[0]?.count === 2, { what: "the second attempt counted on the same Event" });
    await waitFor(() => observed(3), { what: "status of generation 3" });
    const evs = await failedCreates();
    expect(evs.map((e) => e.count), "one Event, one attempt per change").to.deep.equal([2]);
  });
});
