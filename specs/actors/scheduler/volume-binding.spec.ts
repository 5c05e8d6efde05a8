import { expect } from "chai";
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../bus/storage.ts";
import type { StorageView } from "../../../actors/scheduler/types.ts";
import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";
import { REASON_BIND_CONFLICT, REASON_NODE_CONFLICT, REASON_UNBOUND_IMMEDIATE } from "../../../actors/scheduler/plugins/volume-binding.ts";

const klass = (name: string, mode: "Immediate" | "WaitForFirstConsumer", provisioner = "flotilla.io/local-path"): StorageClass => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name },
  provisioner,
  volumeBindingMode: mode,
});
const claim = (name: string, cls: string, volumeName?: string): PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: "default", uid: `uid-${name}` },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: cls, ...(volumeName ? { volumeName } : {}) },
});
const volume = (name: string, cls: string, onNode?: string, size = "1Gi"): PersistentVolume => ({
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name },
  spec: {
    capacity: { storage: size },
    accessModes: ["ReadWriteOnce"],
    storageClassName: cls,
    hostPath: { path: `/data/${name}` },
    ...(onNode ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In" as const, values: [onNode] }] }] } } } : {}),
  },
  status: { phase: "Available" },
});

function storage(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], classes: StorageClass[]): StorageView {
  return {
    claim: (ns, n) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === n),
    volume: (n) => volumes.find((v) => v.metadata.name === n),
    volumes: () => volumes,
    storageClass: (n) => classes.find((c) => c.metadata.name === n),
  };
}

describe("scheduler › VolumeBinding filter", () => {
  const nodes = () => [node("a"), node("b"), node("c")];

  it("places a pod whose claim is bound to a node-pinned volume only on that node", () => {
    const h = cluster(nodes());
    h.snap.storage = storage([claim("data", "local-path", "pv1")], [volume("pv1", "local-path", "b")], [klass("local-path", "WaitForFirstConsumer")]);
    const d = h.plan(pod("p").claim("data"));
    expectPlaced(d, "b");
    expect([...("scores" in d ? d.scores.keys() : [])]).to.deep.equal(["b"]);
  });

  it("reports a volume node affinity conflict when the pinned node does not fit otherwise", () => {
    const h = cluster([node("a"), node("b").cpu("100m")]);
    h.snap.storage = storage([claim("data", "local-path", "pv1")], [volume("pv1", "local-path", "b")], [klass("local-path", "WaitForFirstConsumer")]);
    expectUnschedulable(h.plan(pod("p").cpu("1").claim("data")), { a: [REASON_NODE_CONFLICT], b: ["Insufficient cpu"] });
  });

  it("lets a claim bound to a volume without node affinity go anywhere", () => {
    const h = cluster(nodes());
    h.snap.storage = storage([claim("data", "manual", "pv1")], [volume("pv1", "manual")], []);
    const d = h.plan(pod("p").claim("data"));
    expect("node" in d && d.feasible).to.equal(3);
  });

  it("admits every node for an unbound WaitForFirstConsumer claim whose class provisions", () => {
    const h = cluster(nodes());
    h.snap.storage = storage([claim("data", "local-path")], [], [klass("local-path", "WaitForFirstConsumer")]);
    const d = h.plan(pod("p").claim("data"));
    expect("node" in d && d.feasible).to.equal(3);
  });

  it("sends an unbound WaitForFirstConsumer claim without a provisioner to the node that has a matching volume", () => {
    const h = cluster(nodes());
    const manual = klass("manual", "WaitForFirstConsumer", "kubernetes.io/no-provisioner");
    h.snap.storage = storage([claim("data", "manual")], [volume("small", "manual", "a", "100Mi"), volume("fits", "manual", "c", "5Gi")], [manual]);
    const d = h.plan(pod("p").claim("data"));
    expectPlaced(d, "c");
    expect("reasons" in d ? undefined : d.feasible).to.equal(1);
    h.snap.storage = storage([claim("data", "manual")], [volume("small", "manual", "a", "100Mi")], [manual]);
    expectUnschedulable(h.plan(pod("p").claim("data")), { a: [REASON_BIND_CONFLICT], b: [REASON_BIND_CONFLICT], c: [REASON_BIND_CONFLICT] });
  });

  it("admits no node while a claim of an Immediate class is unbound", () => {
    const h = cluster([node("a")]);
    h.snap.storage = storage([claim("data", "fast")], [], [klass("fast", "Immediate")]);
    expectUnschedulable(h.plan(pod("p").claim("data")), { a: [REASON_UNBOUND_IMMEDIATE] });
  });

  it("admits no node while the claim does not exist", () => {
    const h = cluster([node("a")]);
    h.snap.storage = storage([], [], []);
    expectUnschedulable(h.plan(pod("p").claim("missing")), { a: ['persistentvolumeclaim "missing" not found'] });
  });

  it("ignores pods without claims (a pod with no volumes is placed as before)", () => {
    const h = cluster([node("a")]);
    h.snap.storage = storage([], [], []);
    expectPlaced(h.plan(pod("p")), "a");
  });
});
