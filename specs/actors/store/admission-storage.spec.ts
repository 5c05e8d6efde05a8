import { expect } from "chai";
import { create, update, status, rejected, fieldsOf } from "./admission.fixtures.ts";

const pv = () => ({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv1" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/data/pv1" } } });
const pvc = () => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "default" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
const sc = () => ({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "fast" }, provisioner: "example.com/fast" });

describe("store admission › storage kinds", () => {
  describe("PersistentVolume", () => {
    it("defaults the reclaim policy to Retain, the mode to Filesystem and the phase to Pending", () => {
      const o = create("persistentvolumes", pv());
      expect(o.spec.persistentVolumeReclaimPolicy).to.equal("Retain");
      expect(o.spec.volumeMode).to.equal("Filesystem");
      expect(o.status).to.deep.equal({ phase: "Pending" });
    });
    it("requires a capacity, access modes and exactly one volume type", () => {
      const o = pv() as { spec: Record<string, unknown> };
      delete o.spec.capacity;
      delete o.spec.accessModes;
      delete o.spec.hostPath;
      expect(fieldsOf(rejected(() => create("persistentvolumes", o)))).to.have.members(["spec.capacity", "spec.accessModes", "spec"]);
      const two = pv() as { spec: Record<string, unknown> };
      two.spec.local = { path: "/x" };
      two.spec.nodeAffinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "k", operator: "Exists" }] }] } };
      expect(rejected(() => create("persistentvolumes", two)).message).to.contain("may not specify more than 1 volume type");
    });
    it("requires node affinity for a local volume", () => {
      const o = pv() as { spec: Record<string, unknown> };
      delete o.spec.hostPath;
      o.spec.local = { path: "/mnt/disk" };
      expect(rejected(() => create("persistentvolumes", o)).message).to.contain("Local volume requires node affinity");
    });
    it("refuses to change the volume source after creation", () => {
      const old = create("persistentvolumes", pv());
      const next = structuredClone(old);
      next.spec.hostPath.path = "/elsewhere";
      expect(rejected(() => update("persistentvolumes", next, old)).message).to.contain("spec.persistentvolumesource is immutable after creation");
    });
    it("accepts the phases of a volume in its status only", () => {
      const old = create("persistentvolumes", pv());
      expect(status("persistentvolumes", { ...old, status: { phase: "Released" } }, old).status.phase).to.equal("Released");
      expect(fieldsOf(rejected(() => status("persistentvolumes", { ...old, status: { phase: "Gone" } }, old)))).to.deep.equal(["status.phase"]);
    });
  });

  describe("PersistentVolumeClaim", () => {
    it("starts Pending and requires a storage request", () => {
      expect(create("persistentvolumeclaims", pvc()).status).to.deep.equal({ phase: "Pending" });
      const o = pvc() as { spec: Record<string, unknown> };
      o.spec.resources = {};
      expect(fieldsOf(rejected(() => create("persistentvolumeclaims", o)))).to.deep.equal(["spec.resources[storage]"]);
    });
    it("lets the binder set volumeName and the default class once, and requests grow, but nothing else change", () => {
      const old = create("persistentvolumeclaims", pvc());
      const bound = structuredClone(old);
      bound.spec.volumeName = "pv1";
      bound.spec.storageClassName = "local-path";
      bound.spec.resources.requests.storage = "2Gi";
      expect(update("persistentvolumeclaims", bound, old).spec.volumeName).to.equal("pv1");
      const moved = structuredClone(bound);
      moved.spec.volumeName = "pv2";
      expect(rejected(() => update("persistentvolumeclaims", moved, bound)).message).to.contain("spec is immutable after creation");
      const modes = structuredClone(bound);
      modes.spec.accessModes = ["ReadWriteMany"];
      expect(rejected(() => update("persistentvolumeclaims", modes, bound)).message).to.contain("spec is immutable after creation");
    });
  });

  describe("StorageClass", () => {
    it("defaults reclaimPolicy Delete and volumeBindingMode Immediate", () => {
      const o = create("storageclasses", sc());
      expect([o.reclaimPolicy, o.volumeBindingMode]).to.deep.equal(["Delete", "Immediate"]);
    });
    it("requires a provisioner and forbids changing it", () => {
      expect(fieldsOf(rejected(() => create("storageclasses", { ...sc(), provisioner: "" })))).to.deep.equal(["provisioner"]);
      const old = create("storageclasses", sc());
      expect(rejected(() => update("storageclasses", { ...old, provisioner: "other" }, old)).message).to.contain("updates to provisioner are forbidden.");
    });
  });
});
