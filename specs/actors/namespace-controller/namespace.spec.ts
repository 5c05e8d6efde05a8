import { expect } from "chai";
import type { KubeObject, Namespace } from "../../../bus/resources.ts";
import { decideNamespace, namespacedResources } from "../../../actors/namespace-controller/namespace.ts";

const ns = (deleting: boolean): Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "team", uid: "ns-uid", resourceVersion: "3", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  spec: { finalizers: ["kubernetes"] },
  status: { phase: deleting ? "Terminating" : "Active" },
});
const item = (name: string, deleting = false): KubeObject => ({
  apiVersion: "v1",
  kind: "X",
  metadata: { name, namespace: "team", uid: `u-${name}`, ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
});

describe("namespace controller", () => {
  describe("decideNamespace", () => {
    it("does nothing for an active namespace", () => {
      expect(decideNamespace(ns(false), new Map([["pods", [item("p")]]]))).to.deep.equal({ commands: [] });
    });

    it("deletes every object still in a terminating namespace, workloads first, and looks again later", () => {
      const d = decideNamespace(ns(true), new Map([["pods", [item("p"), item("q", true)]], ["deployments", [item("web")]], ["configmaps", [item("cm")]]]));
      expect(d.commands.map((c) => c.type === "object.delete" && `${c.resource}/${c.name}`)).to.deep.equal(["deployments/web", "pods/p", "configmaps/cm"]);
      expect(d.requeueAfterMs).to.be.greaterThan(0);
    });

    it("removes the kubernetes finalizer once the namespace is empty", () => {
      const d = decideNamespace(ns(true), new Map());
      expect(d.commands).to.have.length(1);
      const c = d.commands[0]!;
      expect(c.type === "namespace.finalize" && c.namespace.spec?.finalizers).to.deep.equal([]);
    });

    it("covers every namespaced type of the registry", () => {
      expect(namespacedResources()).to.include.members(["pods", "services", "endpoints", "configmaps", "secrets", "events", "leases", "deployments", "replicasets", "replicationcontrollers"]);
      expect(namespacedResources()).to.not.include("nodes");
    });
  });
});
