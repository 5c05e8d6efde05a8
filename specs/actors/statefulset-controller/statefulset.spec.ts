import { expect } from "chai";
import type { Pod } from "../../../bus/resources.ts";
import { reconcileStatefulSet } from "../../../actors/statefulset-controller/statefulset.ts";
import { T0, World, iso, of, statefulSet } from "./world.ts";

describe("statefulset controller › reconcileStatefulSet", () => {
  describe("OrderedReady", () => {
    it("creates db-0, then db-1 only once db-0 is Running and Ready, then db-2", () => {
      const w = new World(statefulSet());
      expect(of(w.step(), "pod.create").map((c) => c.pod.metadata.name)).to.deep.equal(["db-0"]);
      expect(of(w.step(), "pod.create")).to.deep.equal([], "db-0 is still Pending");
      w.settle();
      expect(of(w.step(), "pod.create").map((c) => c.pod.metadata.name)).to.deep.equal(["db-1"]);
      w.converge();
      expect(w.created).to.deep.equal(["db-0", "db-1", "db-2"]);
      expect(w.set.status).to.deep.include({ replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3, observedGeneration: 1 });
    });

    it("gives every pod its stable identity: name, hostname, subdomain, pod-name/pod-index labels and the revision", () => {
      const w = new World(statefulSet());
      const cs = w.step();
      const [rev] = of(cs, "revision.create");
      const pod = of(cs, "pod.create")[0]!.pod;
      expect(pod.metadata.name).to.equal("db-0");
      expect(pod.spec).to.deep.include({ hostname: "db-0", subdomain: "db" });
      expect(pod.metadata.labels).to.deep.equal({
        app: "db",
        "statefulset.kubernetes.io/pod-name": "db-0",
        "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": rev!.revision.metadata.name,
      });
      expect(pod.metadata.ownerReferences![0]).to.include({ kind: "StatefulSet", name: "db", uid: "sts-uid", controller: true });
    });

    it("scales down from the highest ordinal, one pod at a time", () => {
      const w = new World(statefulSet());
      w.converge();
      w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
      expect(of(w.step(), "pod.delete").map((c) => c.name)).to.deep.equal(["db-2"]);
      w.converge();
      expect(w.deleted).to.deep.equal(["db-2", "db-1"]);
      expect(w.names()).to.deep.equal(["db-0"]);
    });

    it("waits for a terminating pod before scaling down further", () => {
      const w = new World(statefulSet());
      w.converge();
      w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
      w.pods.find((p) => p.metadata.name === "db-2")!.metadata.deletionTimestamp = iso(w.now);
      expect(of(w.step(), "pod.delete")).to.deep.equal([]);
    });

    it("recreates a failed pod under the same name, with an event", () => {
      const w = new World(statefulSet());
      w.converge();
      w.pods.find((p) => p.metadata.name === "db-1")!.status = { phase: "Failed" };
      expect(of(w.step(), "pod.delete").map((c) => c.name)).to.deep.equal(["db-1"]);
      expect(w.events).to.deep.equal(["RecreatingFailedPod: StatefulSet default/db is recreating failed Pod db-1"]);
      expect(of(w.step(), "pod.create").map((c) => c.pod.metadata.name)).to.deep.equal(["db-1"]);
    });
  });

  describe("Parallel", () => {
    it("creates every pod at once and deletes every surplus pod at once", () => {
      const w = new World(statefulSet({ podManagementPolicy: "Parallel" }));
      expect(of(w.step(), "pod.create").map((c) => c.pod.metadata.name)).to.deep.equal(["db-0", "db-1", "db-2"]);
      w.settle();
      w.set = { ...w.set, spec: { ...w.set.spec, replicas: 1 } };
      expect(of(w.step(), "pod.delete").map((c) => c.name)).to.deep.equal(["db-2", "db-1"]);
    });
  });

  describe("rolling update", () => {
    it("replaces pods from the highest ordinal down, each once the one before is healthy again", () => {
      const w = new World(statefulSet());
      w.converge();
      const first = w.set.status!.currentRevision;
      w.update("db:2");
      const cs = w.step();
      expect(of(cs, "pod.delete").map((c) => c.name)).to.deep.equal(["db-2"]);
      expect(w.set.status).to.deep.include({ currentRevision: first });
      expect(w.set.status!.updateRevision).to.not.equal(first);
      w.converge();
      expect(w.deleted).to.deep.equal(["db-2", "db-1", "db-0"]);
      expect(["db-0", "db-1", "db-2"].map((n) => w.image(n))).to.deep.equal(["db:2", "db:2", "db:2"]);
      expect(w.set.status).to.deep.include({ currentRevision: w.set.status!.updateRevision, updatedReplicas: 3, currentReplicas: 3 });
    });

    it("holds back ordinals below the partition", () => {
      const w = new World(statefulSet());
      w.converge();
      w.update("db:2", { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } });
      w.converge();
      expect(["db-0", "db-1", "db-2"].map((n) => w.image(n))).to.deep.equal(["db:1", "db:1", "db:2"]);
      expect(w.set.status).to.deep.include({ updatedReplicas: 1, currentReplicas: 2 });
      // A held-back pod that is deleted comes back at the current revision.
      w.pods = w.pods.filter((p) => p.metadata.name !== "db-0");
      w.converge();
      expect(w.image("db-0")).to.equal("db:1");
      w.set = { ...w.set, spec: { ...w.set.spec, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } } } };
      w.converge();
      expect(["db-0", "db-1", "db-2"].map((n) => w.image(n))).to.deep.equal(["db:2", "db:2", "db:2"]);
    });

    it("replaces up to maxUnavailable pods at once", () => {
      const w = new World(statefulSet());
      w.converge();
      w.update("db:2", { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable: 2 } } });
      expect(of(w.step(), "pod.delete").map((c) => c.name)).to.deep.equal(["db-2", "db-1"]);
    });

    it("replaces nothing with OnDelete; a deleted pod comes back at the update revision", () => {
      const w = new World(statefulSet({ updateStrategy: { type: "OnDelete" } }));
      w.converge();
      w.update("db:2", { updateStrategy: { type: "OnDelete" } });
      expect(of(w.step(), "pod.delete")).to.deep.equal([]);
      w.pods = w.pods.filter((p) => p.metadata.name !== "db-1");
      w.converge();
      expect(["db-0", "db-1", "db-2"].map((n) => w.image(n))).to.deep.equal(["db:1", "db:2", "db:1"]);
    });

    it("keeps revisionHistoryLimit unused revisions", () => {
      const w = new World(statefulSet({ revisionHistoryLimit: 1 }));
      w.converge();
      for (const image of ["db:2", "db:3", "db:4"]) {
        w.update(image, { revisionHistoryLimit: 1 });
        w.converge();
      }
      expect(w.revisions.map((r) => r.revision).sort()).to.deep.equal([3, 4]);
    });
  });

  describe("a node that stops renewing its lease (the fence rule)", () => {
    function onTwoNodes() {
      const w = new World(statefulSet({ replicas: 2 }));
      w.converge();
      w.pods.find((p) => p.metadata.name === "db-1")!.spec.nodeName = "n2";
      w.leases.set("n1", { seenAt: w.now, leaseDurationSeconds: 10 });
      w.leases.set("n2", { seenAt: w.now, leaseDurationSeconds: 10 });
      return w;
    }

    it("leaves the pod alone while the lease is fresh, and comes back when it would run out", () => {
      const w = onTwoNodes();
      const d = reconcileStatefulSet("k", { set: w.set, pods: w.pods, revisions: w.revisions, claims: w.claims, leases: w.leases, fenceMarginMs: 5000 }, w.now + 4000);
      expect(of(d.commands, "pod.delete")).to.deep.equal([]);
      expect(d.requeueAfterMs).to.equal(6000);
    });

    it("does not replace the pod before lease duration + fence margin, even when the pod is already marked for deletion", () => {
      const w = onTwoNodes();
      const seen = w.now;
      w.pods.find((p) => p.metadata.name === "db-1")!.metadata.deletionTimestamp = iso(seen + 3000);
      const d = reconcileStatefulSet("k", { set: w.set, pods: w.pods, revisions: w.revisions, claims: w.claims, leases: w.leases, fenceMarginMs: 5000 }, seen + 14_999);
      expect(of(d.commands, "pod.delete")).to.deep.equal([]);
      expect(of(d.commands, "pod.create")).to.deep.equal([]);
      expect(d.requeueAfterMs).to.equal(1);
    });

    it("force-deletes it at lease duration + fence margin, says why, and recreates it under the same name", () => {
      const w = onTwoNodes();
      const seen = w.now;
      w.now = seen + 15_000;
      w.leases.set("n1", { seenAt: w.now, leaseDurationSeconds: 10 });
      const cs = w.step();
      expect(of(cs, "pod.delete").map((c) => ({ name: c.name, force: c.force }))).to.deep.equal([{ name: "db-1", force: true }]);
      expect(w.events[0]).to.equal(
        "ReplacingFencedPod: StatefulSet default/db is replacing Pod db-1: node n2 has not renewed its lease for 15s (lease 10s + fence margin 5s), so it has stopped its pods",
      );
      w.node = "n1";
      expect(of(w.step(), "pod.create").map((c) => c.pod.metadata.name)).to.deep.equal(["db-1"]);
    });

    it("never replaces a pod whose node this controller knows nothing about", () => {
      const w = onTwoNodes();
      w.leases.delete("n2");
      w.leases.set("n1", { seenAt: w.now + 3_600_000, leaseDurationSeconds: 10 });
      const d = reconcileStatefulSet("k", { set: w.set, pods: w.pods, revisions: w.revisions, claims: w.claims, leases: w.leases, fenceMarginMs: 5000 }, w.now + 3_600_000);
      expect(of(d.commands, "pod.delete")).to.deep.equal([]);
    });
  });

  describe("ownership", () => {
    it("adopts an orphan named like a member and leaves other orphans alone", () => {
      const w = new World(statefulSet({ replicas: 1 }));
      const orphan = (name: string): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", uid: name, labels: { app: "db" } }, spec: { containers: [] }, status: { phase: "Running" } });
      w.pods.push(orphan("db-0"), orphan("web-0"));
      expect(of(w.step(), "pod.adopt").map((c) => c.pod.metadata.name)).to.deep.equal(["db-0"]);
    });

    it("only writes status for a StatefulSet that is being deleted", () => {
      const w = new World(statefulSet());
      w.set.metadata.deletionTimestamp = iso(T0);
      expect(w.step().map((c) => c.type)).to.deep.equal(["statefulset.status"]);
    });
  });
});
