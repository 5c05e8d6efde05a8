import { expect } from "chai";
import type { Pod, PodPhase, ReplicaSet, ReplicationController } from "../../../bus/resources.ts";
import { reconcileReplicas, slowStartBatches } from "../../../actors/replication-controller/replicaset.ts";
import { fromReplicaSet, fromReplicationController } from "../../../actors/replication-controller/owner.ts";
import { deletionOrder } from "../../../actors/replication-controller/pods.ts";
import { Expectations } from "../../../actors/replication-controller/expectations.ts";

const NOW = Date.parse("2026-01-01T00:00:10Z");

function rs(replicas: number, extra: Partial<ReplicaSet["spec"]> = {}): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default", uid: "rs-uid", generation: 2, resourceVersion: "5" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web", tier: "front" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
      ...extra,
    },
  };
}

let n = 0;
function pod(o: { owned?: boolean; labels?: Record<string, string>; node?: string; phase?: PodPhase; ready?: boolean; readySince?: string; created?: string; deleting?: boolean; name?: string } = {}): Pod {
  n++;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: o.name ?? `web-${n}`,
      namespace: "default",
      uid: `pod-${o.name ?? n}`,
      resourceVersion: "3",
      labels: o.labels ?? { app: "web", tier: "front" },
      creationTimestamp: o.created ?? "2026-01-01T00:00:00Z",
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:05Z" } : {}),
      ...(o.owned === false ? {} : { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true }] }),
    },
    spec: { containers: [{ name: "c" }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? "Running",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True", lastTransitionTime: o.readySince ?? "2026-01-01T00:00:01Z" }],
    },
  };
}

describe("replication controller", () => {
  describe("reconcileReplicas", () => {
    it("creates the missing pods from the template with generateName, labels and a controller owner reference", () => {
      const d = reconcileReplicas(fromReplicaSet(rs(3)), { pods: [pod({ node: "n1" })], expectationsSatisfied: true, now: NOW });
      const create = d.commands.find((c) => c.type === "pods.create");
      expect(create).to.deep.include({ type: "pods.create", namespace: "default", count: 2 });
      const p = (create as { pod: Pod }).pod;
      expect(p.metadata.generateName).to.equal("web-");
      expect(p.metadata.labels).to.deep.equal({ app: "web", tier: "front" });
      expect(p.metadata.ownerReferences).to.deep.equal([
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true },
      ]);
      expect(d.expect.creates).to.equal(2);
    });

    it("creates nothing while earlier creates have not been observed", () => {
      const d = reconcileReplicas(fromReplicaSet(rs(3)), { pods: [], expectationsSatisfied: false, now: NOW });
      expect(d.commands.filter((c) => c.type === "pods.create" || c.type === "pods.delete")).to.deep.equal([]);
    });

    it("caps one pass at the burst size", () => {
      const d = reconcileReplicas(fromReplicaSet(rs(10)), { pods: [], expectationsSatisfied: true, now: NOW, burst: 4 });
      expect(d.commands.find((c) => c.type === "pods.create")).to.deep.include({ count: 4 });
    });

    it("deletes unscheduled, then not-ready, then the newest pods first", () => {
      const pods = [
        pod({ name: "old-ready", node: "n1", created: "2026-01-01T00:00:00Z" }),
        pod({ name: "new-ready", node: "n1", created: "2026-01-01T00:00:03Z" }),
        pod({ name: "not-ready", node: "n1", ready: false }),
        pod({ name: "unscheduled", phase: "Pending", ready: false }),
      ];
      const one = (k: number) =>
        reconcileReplicas(fromReplicaSet(rs(4 - k)), { pods, expectationsSatisfied: true, now: NOW }).commands.find((c) => c.type === "pods.delete");
      expect((one(3) as { pods: { name: string }[] }).pods.map((p) => p.name)).to.deep.equal(["unscheduled", "not-ready", "new-ready"]);
      expect(one(1)).to.deep.include({ pods: [{ name: "unscheduled", uid: "pod-unscheduled" }] });
    });

    it("counts Succeeded, Failed and terminating pods as gone", () => {
      const pods = [pod({ node: "n1" }), pod({ node: "n1", phase: "Failed" }), pod({ node: "n1", phase: "Succeeded" }), pod({ node: "n1", deleting: true })];
      const d = reconcileReplicas(fromReplicaSet(rs(2)), { pods, expectationsSatisfied: true, now: NOW });
      expect(d.commands.find((c) => c.type === "pods.create")).to.deep.include({ count: 1 });
      expect(d.commands.find((c) => c.type === "replicaset.status")).to.deep.include({ status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 } });
    });

    it("adopts a matching orphan and releases an owned pod that no longer matches", () => {
      const orphan = pod({ owned: false, name: "orphan", node: "n1" });
      const stray = pod({ name: "stray", labels: { app: "other" }, node: "n1" });
      const d = reconcileReplicas(fromReplicaSet(rs(1)), { pods: [orphan, stray], expectationsSatisfied: true, now: NOW });
      const adopt = d.commands.find((c) => c.type === "pod.adopt") as { pod: Pod };
      const release = d.commands.find((c) => c.type === "pod.release") as { pod: Pod };
      expect(adopt.pod.metadata.ownerReferences?.[0]).to.include({ uid: "rs-uid", controller: true });
      expect(release.pod.metadata.name).to.equal("stray");
      expect(release.pod.metadata.ownerReferences).to.equal(undefined);
      expect(orphan.metadata.ownerReferences, "the cached pod is untouched").to.equal(undefined);
      expect(d.commands.some((c) => c.type === "pods.create" || c.type === "pods.delete")).to.equal(false);
    });

    it("ignores pods owned by another controller", () => {
      const foreign = pod({ owned: false, node: "n1" });
      foreign.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "other", controller: true }];
      const d = reconcileReplicas(fromReplicaSet(rs(1)), { pods: [foreign], expectationsSatisfied: true, now: NOW });
      expect(d.commands.map((c) => c.type)).to.deep.equal(["pods.create", "replicaset.status"]);
    });

    it("counts a ready pod as available only after minReadySeconds and asks to come back then", () => {
      const p = pod({ node: "n1", readySince: "2026-01-01T00:00:08Z" });
      const d = reconcileReplicas(fromReplicaSet(rs(1, { minReadySeconds: 5 })), { pods: [p], expectationsSatisfied: true, now: NOW });
      expect(d.commands).to.deep.equal([
        { type: "replicaset.status", status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 0, observedGeneration: 2 } },
      ]);
      expect(d.requeueAfterMs).to.be.within(3000, 3100);
    });

    it("writes no status when nothing changed", () => {
      const set = rs(1);
      set.status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 };
      const d = reconcileReplicas(fromReplicaSet(set), { pods: [pod({ node: "n1" })], expectationsSatisfied: true, now: NOW });
      expect(d.commands).to.deep.equal([]);
    });

    it("treats a ReplicationController's selector as labels (defaulting to the template's)", () => {
      const rc: ReplicationController = {
        apiVersion: "v1",
        kind: "ReplicationController",
        metadata: { name: "web", namespace: "default", uid: "rc-uid", generation: 1 },
        spec: { replicas: 2, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } } },
      };
      const d = reconcileReplicas(fromReplicationController(rc), { pods: [pod({ owned: false, node: "n1" })], expectationsSatisfied: true, now: NOW });
      const adopt = d.commands.find((c) => c.type === "pod.adopt") as { pod: Pod };
      expect(adopt.pod.metadata.ownerReferences?.[0]).to.deep.include({ kind: "ReplicationController", apiVersion: "v1", uid: "rc-uid" });
      expect(d.commands.find((c) => c.type === "pods.create")).to.deep.include({ count: 1 });
    });
  });

  describe("slowStartBatches", () => {
    it("creates in batches of 1, 2, 4, … summing to the count", () => {
      expect(slowStartBatches(10)).to.deep.equal([1, 2, 4, 3]);
      expect(slowStartBatches(0)).to.deep.equal([]);
    });
  });

  describe("deletionOrder", () => {
    it("puts a pending pod before a running one", () => {
      const a = pod({ node: "n1", phase: "Running" });
      const b = pod({ node: "n1", phase: "Pending", ready: false });
      expect([a, b].sort(deletionOrder)[0]).to.equal(b);
    });
  });

  describe("Expectations", () => {
    it("is unsatisfied until every expected create and delete was observed, or the ttl passed", () => {
      let t = 0;
      const e = new Expectations(() => t, 1000);
      e.expect("k", 2, ["u1"]);
      e.creationObserved("k");
      e.creationObserved("k");
      expect(e.satisfied("k")).to.equal(false);
      e.deletionObserved("k", "u1");
      expect(e.satisfied("k")).to.equal(true);
      e.expect("k", 1, []);
      expect(e.satisfied("k")).to.equal(false);
      t = 1001;
      expect(e.satisfied("k")).to.equal(true);
    });
  });
});
