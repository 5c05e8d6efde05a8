import { expect } from "chai";
import type { Deployment, Event } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";

describe("controller events", function () {
  this.timeout(60_000);
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ actors: [{ def: deploymentController }, { def: replicationController }] });
  });
  after(async () => c?.stop());

  it("records ScalingReplicaSet on the Deployment and SuccessfulCreate on its ReplicaSet, as kubectl describe shows", async () => {
    await c.store.create<Deployment>("deployments", "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "ev" },
      spec: { replicas: 2, selector: { matchLabels: { app: "ev" } }, template: { metadata: { labels: { app: "ev" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
    } as Deployment);
    const events = await waitFor(async () => {
      const list = (await c.store.list<Event>("events", "default")).items;
      const scaling = list.find((e) => e.reason === "ScalingReplicaSet" && e.involvedObject.name === "ev");
      const created = list.filter((e) => e.reason === "SuccessfulCreate" && e.involvedObject.kind === "ReplicaSet");
      return scaling && created.length >= 2 ? { scaling, created } : undefined;
    }, { what: "scaling and create events" });
    expect(events.scaling.message).to.match(/^Scaled up replica set ev-[a-z0-9]+ to 2 from 0$/);
    expect(events.scaling.involvedObject.kind).to.equal("Deployment");
    expect(events.created[0]!.message).to.match(/^Created pod: ev-[a-z0-9]+-[a-z0-9]{5}$/);
  });
});
