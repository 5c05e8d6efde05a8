import { expect } from "chai";
import type { KubeObject } from "../../../bus/resources.ts";
import type { GcNode, GraphView } from "../../../actors/garbage-collector/object.ts";
import { decideGc } from "../../../actors/garbage-collector/object.ts";

function obj(resource: string, name: string, o: { owners?: KubeObject[]; deleting?: boolean; finalizers?: string[] } = {}): GcNode {
  return {
    resource,
    object: {
      apiVersion: "v1",
      kind: resource === "deployments" ? "Deployment" : resource === "replicasets" ? "ReplicaSet" : "Pod",
      metadata: {
        name,
        namespace: "default",
        uid: `uid-${name}`,
        resourceVersion: "1",
        ...(o.owners ? { ownerReferences: o.owners.map((w) => ({ apiVersion: w.apiVersion, kind: w.kind, name: w.metadata.name!, uid: w.metadata.uid!, controller: true })) } : {}),
        ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
        ...(o.finalizers ? { finalizers: o.finalizers } : {}),
      },
    },
  };
}

function graph(nodes: GcNode[]): GraphView {
  return {
    byUid: (uid) => nodes.find((n) => n.object.metadata.uid === uid),
    dependentsOf: (uid) => nodes.filter((n) => n.object.metadata.ownerReferences?.some((r) => r.uid === uid)),
  };
}

describe("garbage collector", () => {
  describe("decideGc", () => {
    it("deletes a dependent whose only owner is gone, after verifying the owner in the store", () => {
      const rs = obj("replicasets", "web");
      const pod = obj("pods", "web-x", { owners: [rs.object] });
      const [c] = decideGc(pod, graph([pod]));
      expect(c).to.deep.include({ type: "object.delete", propagationPolicy: "Background", target: { resource: "pods", namespace: "default", name: "web-x", uid: "uid-web-x" } });
      expect((c as { verifyGone: { ref: { uid: string } }[] }).verifyGone.map((v) => v.ref.uid)).to.deep.equal(["uid-web"]);
    });

    it("leaves a dependent alone while its owner exists", () => {
      const rs = obj("replicasets", "web");
      const pod = obj("pods", "web-x", { owners: [rs.object] });
      expect(decideGc(pod, graph([rs, pod]))).to.deep.equal([]);
    });

    it("drops only the dangling reference when another owner is alive", () => {
      const a = obj("replicasets", "a");
      const b = obj("replicasets", "b");
      const pod = obj("pods", "p", { owners: [a.object, b.object] });
      const [c] = decideGc(pod, graph([a, pod]));
      expect(c!.type).to.equal("object.drop-owner-refs");
      expect((c as { object: KubeObject }).object.metadata.ownerReferences?.map((r) => r.uid)).to.deep.equal(["uid-a"]);
      expect(pod.object.metadata.ownerReferences, "the cached object is untouched").to.have.length(2);
    });

    it("deletes dependents of a foreground-deleting owner in the foreground and keeps the owner's finalizer until they are gone", () => {
      const d = obj("deployments", "web", { deleting: true, finalizers: ["foregroundDeletion"] });
      const rs = obj("replicasets", "web-1", { owners: [d.object] });
      expect(decideGc(rs, graph([d, rs]))).to.deep.equal([
        { type: "object.delete", target: { resource: "replicasets", namespace: "default", name: "web-1", uid: "uid-web-1" }, propagationPolicy: "Foreground", verifyGone: [] },
      ]);
      expect(decideGc(d, graph([d, rs]))).to.deep.equal([]);
      const [done] = decideGc(d, graph([d]));
      expect(done).to.deep.include({ type: "object.finalize", finalizer: "foregroundDeletion" });
      expect((done as { object: KubeObject }).object.metadata.finalizers).to.equal(undefined);
    });

    it("orphans: strips the owner's references from dependents, then removes the orphan finalizer", () => {
      const rs = obj("replicasets", "web", { deleting: true, finalizers: ["orphan"] });
      const pod = obj("pods", "p", { owners: [rs.object] });
      const cs = decideGc(rs, graph([rs, pod]));
      expect(cs.map((c) => c.type)).to.deep.equal(["object.drop-owner-refs"]);
      expect((cs[0] as { object: KubeObject }).object.metadata.ownerReferences).to.equal(undefined);
      expect(decideGc(pod, graph([rs, pod])), "the dependent itself is not deleted").to.deep.equal([]);
      expect(decideGc(rs, graph([rs])).map((c) => c.type)).to.deep.equal(["object.finalize"]);
    });

    it("does nothing for an object without owners or already being deleted", () => {
      const a = obj("pods", "lonely");
      const gone = obj("pods", "going", { owners: [obj("replicasets", "x").object], deleting: true });
      expect(decideGc(a, graph([a]))).to.deep.equal([]);
      expect(decideGc(gone, graph([gone]))).to.deep.equal([]);
    });
  });
});
