import { expect } from "chai";
import type { Pod } from "../../../bus/resources.ts";
import { fencedPod, fenceDue } from "../../../actors/kubelet/fence.ts";

const pod = (extra: { owner?: string; volumes?: NonNullable<Pod["spec"]["volumes"]> } = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "default", ...(extra.owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: extra.owner, name: "o", uid: "u", controller: true }] } : {}) },
  spec: { containers: [{ name: "c", image: "busybox" }], ...(extra.volumes ? { volumes: extra.volumes } : {}) },
});

describe("kubelet self-fencing rule", () => {
  it("is due once no renewal was sent successfully for the lease's duration", () => {
    expect(fenceDue(1_000, 10_999, 10)).to.equal(false);
    expect(fenceDue(1_000, 11_000, 10)).to.equal(true);
    expect(fenceDue(Number.NEGATIVE_INFINITY, 0, 10)).to.equal(true);
  });

  it("stops a StatefulSet's pods, pods with a claim and pods it knows nothing of", () => {
    expect(fencedPod(pod({ owner: "StatefulSet" }))).to.equal(true);
    expect(fencedPod(pod({ owner: "ReplicaSet", volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] }))).to.equal(true);
    expect(fencedPod(undefined)).to.equal(true);
  });

  it("keeps every other pod running, as a Kubernetes kubelet does without its API server", () => {
    expect(fencedPod(pod({ owner: "ReplicaSet" }))).to.equal(false);
    expect(fencedPod(pod({ owner: "Job" }))).to.equal(false);
    expect(fencedPod(pod())).to.equal(false);
    expect(fencedPod(pod({ owner: "DaemonSet", volumes: [{ name: "cfg", configMap: { name: "cfg" } }, { name: "tmp", emptyDir: {} }] }))).to.equal(false);
  });
});
