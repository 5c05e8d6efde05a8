import { expect } from "chai";
import { create, update, status, rejected, fieldsOf, causeAt, minimal, stored, clone } from "./admission.fixtures.ts";

describe("store admission › nodes and namespaces", () => {
  describe("Node", () => {
    it("accepts a registering node with its status and defaults allocatable to capacity", () => {
      const n = minimal("nodes");
      n.status = { capacity: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] };
      const out = create("nodes", n);
      expect(out.status.allocatable).to.deep.equal({ cpu: "4", memory: "8Gi", pods: "110" });
    });

    it("keeps an explicit allocatable", () => {
      const n = minimal("nodes");
      n.status = { capacity: { cpu: "4" }, allocatable: { cpu: "3500m" } };
      expect(create("nodes", n).status.allocatable).to.deep.equal({ cpu: "3500m" });
    });

    it("checks taints: key, effect, and uniqueness by key and effect", () => {
      const n = minimal("nodes");
      n.spec.taints = [
        { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
        { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
        { key: "", effect: "Sometimes" },
      ];
      const e = rejected(() => create("nodes", n));
      expect(fieldsOf(e)).to.deep.equal(["spec.taints[1]", "spec.taints[2].key", "spec.taints[2].effect"]);
      expect(causeAt(e, "spec.taints[1]").message).to.contain("taints must be unique by key and effect pair");
    });

    it("refuses malformed capacity quantities (also where allocatable is defaulted from them) and conditions", () => {
      const n = minimal("nodes");
      n.status = { capacity: { cpu: "four" }, conditions: [{ type: "Ready", status: "Yes" }] };
      expect(fieldsOf(rejected(() => create("nodes", n)))).to.deep.equal(["status.capacity[cpu]", "status.allocatable[cpu]", "status.conditions[0].status"]);
    });

    it("takes status changes only through status writes", () => {
      const old = stored("nodes", { ...minimal("nodes"), status: { capacity: { cpu: "4" } } });
      const viaUpdate = clone(old);
      viaUpdate.status = { capacity: { cpu: "8" } };
      viaUpdate.spec.unschedulable = true;
      const updated = update("nodes", viaUpdate, old);
      expect(updated.spec.unschedulable).to.equal(true);
      expect(updated.status.capacity.cpu).to.equal("4");
      const viaStatus = clone(old);
      viaStatus.status = { capacity: { cpu: "8" }, conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] };
      const out = status("nodes", viaStatus, old);
      expect(out.status.capacity.cpu).to.equal("8");
      expect(out.status.allocatable).to.deep.equal({ cpu: "8" });
    });

    it("lets podCIDR be set once", () => {
      const old = stored("nodes", { ...minimal("nodes"), spec: { podCIDR: "10.244.1.0/24" } });
      const next = clone(old);
      next.spec.podCIDR = "10.244.2.0/24";
      expect(causeAt(rejected(() => update("nodes", next, old)), "spec.podCIDR").reason).to.equal("FieldValueForbidden");
      const bad = minimal("nodes");
      bad.spec.podCIDR = "10.244.1.0/33";
      expect(fieldsOf(rejected(() => create("nodes", bad)))).to.deep.equal(["spec.podCIDR"]);
    });
  });

  describe("Namespace", () => {
    it("starts Active and carries the kubernetes.io/metadata.name label", () => {
      const out = create("namespaces", minimal("namespaces"));
      expect(out.status).to.deep.equal({ phase: "Active" });
      expect(out.metadata.labels).to.deep.equal({ "kubernetes.io/metadata.name": "team-a" });
    });

    it("takes a DNS label as its name (no dots)", () => {
      const ns = minimal("namespaces");
      ns.metadata.name = "team.a";
      expect(causeAt(rejected(() => create("namespaces", ns)), "metadata.name").message).to.contain("RFC 1123 label");
    });

    it("accepts Terminating only once the namespace is being deleted", () => {
      const old = stored("namespaces");
      const next = clone(old);
      next.status = { phase: "Terminating" };
      expect(causeAt(rejected(() => status("namespaces", next, old)), "status.phase").message).to.contain("may only be in active status");
      old.metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
      expect(status("namespaces", next, old).status.phase).to.equal("Terminating");
    });

    it("lets the namespace controller drop its spec finalizer", () => {
      const old = stored("namespaces", { ...minimal("namespaces"), spec: { finalizers: ["kubernetes"] } });
      old.metadata.deletionTimestamp = "2026-03-01T12:00:00Z";
      old.status = { phase: "Terminating" };
      const next = clone(old);
      next.spec.finalizers = [];
      const out = update("namespaces", next, old);
      expect(out.spec.finalizers).to.deep.equal([]);
      expect(out.status.phase).to.equal("Terminating");
    });
  });
});
