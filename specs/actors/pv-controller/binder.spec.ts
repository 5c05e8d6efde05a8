import { expect } from "chai";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../bus/storage.ts";
import type { ClaimView } from "../../../actors/pv-controller/binder.ts";
import { reconcileClaim, reconcileVolume } from "../../../actors/pv-controller/binder.ts";
import { matchesTerm } from "../../../actors/scheduler/plugins/node-affinity.ts";
import { provisionClaim, reclaimVolume } from "../../../actors/local-path-provisioner/provision.ts";
import { localPathClass } from "../../../actors/pv-controller/index.ts";

const cls = (name: string, mode: "Immediate" | "WaitForFirstConsumer", provisioner = "kubernetes.io/no-provisioner", dflt = false): StorageClass => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name, ...(dflt ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
  provisioner,
  volumeBindingMode: mode,
  reclaimPolicy: "Delete",
});
const claim = (o: Partial<PersistentVolumeClaim["spec"]> = {}, annotations: Record<string, string> = {}): PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "data", namespace: "ns", uid: "c-uid", annotations },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "manual", ...o },
  status: { phase: "Pending" },
});
const pinned = (node: string) => ({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In" as const, values: [node] }] }] } });
const volume = (name: string, size: string, o: Partial<PersistentVolume["spec"]> = {}, phase: "Available" | "Bound" | "Released" = "Available"): PersistentVolume => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name },
  spec: { capacity: { storage: size }, accessModes: ["ReadWriteOnce"], storageClassName: "manual", persistentVolumeReclaimPolicy: "Retain", hostPath: { path: `/d/${name}` }, ...o },
  status: { phase },
});
function view(c: PersistentVolumeClaim | undefined, volumes: PersistentVolume[], classes: StorageClass[]): ClaimView {
  return {
    claim: c,
    volumes,
    volume: (n) => volumes.find((v) => v.metadata.name === n),
    classes,
    node: (n) => ({ name: n, labels: { "kubernetes.io/hostname": n } }),
    matchesTerm,
  };
}
const types = (cmds: { type: string }[]) => cmds.map((c) => c.type);

describe("pv-controller › claims", () => {
  it("gives a claim without a class the default class", () => {
    const d = reconcileClaim(view(claim({ storageClassName: undefined }), [], [cls("local-path", "WaitForFirstConsumer", "flotilla.io/local-path", true), cls("other", "Immediate")]));
    expect(d.commands).to.have.length(1);
    expect(d.commands[0]).to.include({ type: "claim.set-class", className: "local-path" });
  });

  it("binds an Immediate claim to the smallest Available volume that fits", () => {
    const vols = [volume("big", "10Gi"), volume("small", "500Mi"), volume("right", "2Gi"), volume("rwx-only", "1Gi", { accessModes: ["ReadWriteMany"] })];
    const d = reconcileClaim(view(claim(), vols, [cls("manual", "Immediate")]));
    expect(types(d.commands)).to.deep.equal(["volume.bind", "claim.bind"]);
    expect((d.commands[0] as { volume: PersistentVolume }).volume.metadata.name).to.equal("right");
    expect((d.commands[1] as { status: unknown }).status).to.deep.equal({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "2Gi" } });
  });

  it("leaves a WaitForFirstConsumer claim Pending until a node is selected, saying why", () => {
    const d = reconcileClaim(view(claim(), [volume("v", "1Gi")], [cls("manual", "WaitForFirstConsumer")]));
    expect(types(d.commands)).to.deep.equal(["claim.event"]);
    expect((d.commands[0] as { event: { reason: string } }).event.reason).to.equal("WaitForFirstConsumer");
  });

  it("binds a WaitForFirstConsumer claim only to a volume the selected node reaches", () => {
    const vols = [volume("on-a", "1Gi", { nodeAffinity: pinned("a") }), volume("on-b", "1Gi", { nodeAffinity: pinned("b") })];
    const d = reconcileClaim(view(claim({}, { "volume.kubernetes.io/selected-node": "b" }), vols, [cls("manual", "WaitForFirstConsumer")]));
    expect((d.commands[0] as { volume: PersistentVolume }).volume.metadata.name).to.equal("on-b");
  });

  it("hands a claim no volume fits to its class' provisioner", () => {
    const c = claim({ storageClassName: "local-path" }, { "volume.kubernetes.io/selected-node": "a" });
    const d = reconcileClaim(view(c, [volume("tiny", "1Mi", { storageClassName: "local-path" })], [localPathClass()]));
    expect(types(d.commands)).to.deep.equal(["claim.annotate", "claim.event"]);
    expect((d.commands[0] as { annotations: Record<string, string> }).annotations["volume.kubernetes.io/storage-provisioner"]).to.equal("flotilla.io/local-path");
  });

  it("completes the binding of a claim to the volume pre-bound to it and reports Bound", () => {
    const v = volume("pv", "1Gi", { claimRef: { namespace: "ns", name: "data", uid: "c-uid" } }, "Bound");
    const d = reconcileClaim(view(claim(), [v], [cls("manual", "Immediate")]));
    expect(types(d.commands)).to.deep.equal(["volume.bind", "claim.bind"]);
  });

  it("reports Lost when a bound claim's volume is gone", () => {
    const c = claim({ volumeName: "gone" });
    c.status = { phase: "Bound" };
    const d = reconcileClaim(view(c, [], []));
    expect((d.commands[0] as { status: { phase: string } }).status.phase).to.equal("Lost");
  });
});

describe("pv-controller › volumes", () => {
  const ref = { namespace: "ns", name: "data", uid: "c-uid" };
  it("marks a volume without a claim Available", () => {
    const v = volume("pv", "1Gi", {}, "Available");
    v.status = { phase: "Pending" };
    expect(reconcileVolume({ volume: v, claim: undefined }).commands[0]).to.include({ type: "volume.phase", phase: "Available" });
  });
  it("marks a volume whose claim exists Bound", () => {
    const v = volume("pv", "1Gi", { claimRef: ref }, "Available");
    expect(reconcileVolume({ volume: v, claim: claim({ volumeName: "pv" }) }).commands[0]).to.include({ type: "volume.phase", phase: "Bound" });
  });
  it("releases a volume whose claim is gone, then keeps it (Retain)", () => {
    const v = volume("pv", "1Gi", { claimRef: ref }, "Bound");
    expect(types(reconcileVolume({ volume: v, claim: undefined }).commands)).to.deep.equal(["volume.release"]);
    expect(reconcileVolume({ volume: volume("pv", "1Gi", { claimRef: ref }, "Released"), claim: undefined }).commands).to.deep.equal([]);
  });
  it("leaves a released local-path volume with Delete to its node, and fails Delete it cannot do", () => {
    const local = volume("pv", "1Gi", { claimRef: ref, persistentVolumeReclaimPolicy: "Delete" }, "Released");
    local.metadata.annotations = { "pv.kubernetes.io/provisioned-by": "flotilla.io/local-path" };
    expect(reconcileVolume({ volume: local, claim: undefined }).commands).to.deep.equal([]);
    const other = volume("pv", "1Gi", { claimRef: ref, persistentVolumeReclaimPolicy: "Delete" }, "Released");
    expect(reconcileVolume({ volume: other, claim: undefined }).commands[0]).to.include({ type: "volume.phase", phase: "Failed" });
  });
});

describe("local-path provisioner", () => {
  const storage = { node: "a", root: "/srv/storage/a", classes: [localPathClass()], volume: () => undefined };
  const wanting = (node: string) => claim({ storageClassName: "local-path" }, { "volume.kubernetes.io/selected-node": node, "volume.kubernetes.io/storage-provisioner": "flotilla.io/local-path" });

  it("makes a hostPath volume pinned to its node for a claim selected onto it", () => {
    const cmds = provisionClaim(wanting("a"), storage);
    expect(types(cmds)).to.deep.equal(["volume.provision"]);
    const c = cmds[0] as { volume: PersistentVolume; dir: string };
    expect(c.dir).to.equal("/srv/storage/a/pvc-c-uid_ns_data");
    expect(c.volume.metadata.name).to.equal("pvc-c-uid");
    expect(c.volume.spec).to.deep.include({ persistentVolumeReclaimPolicy: "Delete", storageClassName: "local-path", hostPath: { path: c.dir, type: "DirectoryOrCreate" }, nodeAffinity: pinned("a") });
    expect(c.volume.spec.claimRef).to.include({ namespace: "ns", name: "data", uid: "c-uid" });
  });
  it("leaves claims selected onto another node, or already provisioned, alone", () => {
    expect(provisionClaim(wanting("b"), storage)).to.deep.equal([]);
    expect(provisionClaim(wanting("a"), { ...storage, volume: () => volume("pvc-c-uid", "1Gi") })).to.deep.equal([]);
  });
  it("deletes only released Delete volumes of its own node under its root", () => {
    const mine = volume("pvc-x", "1Gi", { persistentVolumeReclaimPolicy: "Delete", nodeAffinity: pinned("a"), hostPath: { path: "/srv/storage/a/pvc-x_ns_data" } }, "Released");
    mine.metadata.annotations = { "pv.kubernetes.io/provisioned-by": "flotilla.io/local-path" };
    expect(types(reclaimVolume(mine, storage))).to.deep.equal(["volume.delete"]);
    expect(reclaimVolume({ ...mine, spec: { ...mine.spec, persistentVolumeReclaimPolicy: "Retain" } }, storage)).to.deep.equal([]);
    expect(reclaimVolume({ ...mine, spec: { ...mine.spec, nodeAffinity: pinned("b") } }, storage)).to.deep.equal([]);
    expect(reclaimVolume({ ...mine, spec: { ...mine.spec, hostPath: { path: "/etc" } } }, storage)).to.deep.equal([]);
    expect(reclaimVolume({ ...mine, status: { phase: "Bound" } }, storage)).to.deep.equal([]);
  });
});
