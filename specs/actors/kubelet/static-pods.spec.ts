import type { Pod, Node } from "../../../bus/resources.ts";
import { expect } from "chai";
import {
  parseManifest, staticPod, staticPodHash, mirrorPodOf, decideMirror, isStaticPod, isMirrorPod, isManifestFile,
  MIRROR_ANNOTATION, SOURCE_ANNOTATION, HASH_ANNOTATION,
} from "../../../actors/kubelet/static-pods.ts";
import { refuseForNode } from "../../../actors/store/node-restriction.ts";
import { update, rejected, causeAt, stored, clone } from "../store/admission.fixtures.ts";

const YAML = `
apiVersion: v1
kind: Pod
metadata:
  name: kube-scheduler
  namespace: kube-system
  labels: { component: kube-scheduler }
spec:
  hostNetwork: true
  containers:
    - name: scheduler
      image: flotilla:dev
      command: ["flotilla", "actor", "scheduler"]
`;
const manifest = (): Pod => {
  const m = parseManifest(YAML);
  if (!m.ok) throw new Error(m.error);
  return m.manifest;
};
const node: Pick<Node, "metadata"> = { metadata: { name: "n1", uid: "node-uid-1" } };

describe("kubelet › static pods", () => {
  describe("parseManifest", () => {
    it("reads one pod from YAML or JSON", () => {
      expect(manifest().metadata.name).to.equal("kube-scheduler");
      const json = parseManifest(JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "a" }, spec: { containers: [{ name: "c" }] } }));
      expect(json.ok).to.equal(true);
    });

    it("refuses what is not exactly one v1 Pod with a name and containers", () => {
      const bad = [
        "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\nspec: {}",
        `${YAML}\n---\n${YAML}`,
        "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{name: c}]}",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{image: busybox}]}",
        "key: [unclosed",
        "",
      ];
      for (const text of bad) expect(parseManifest(text).ok, text).to.equal(false);
    });

    it("reads YAML and JSON files and skips hidden and other files", () => {
      expect(["a.yaml", "b.yml", "c.json", ".a.yaml.swp", ".hidden.yaml", "README.md", "x.yaml~"].filter(isManifestFile)).to.deep.equal(["a.yaml", "b.yml", "c.json"]);
    });
  });

  describe("staticPod", () => {
    it("appends the node name, binds the pod to the node and uses the manifest's hash as uid", () => {
      const p = staticPod(manifest(), "n1");
      expect(p.metadata.name).to.equal("kube-scheduler-n1");
      expect(p.metadata.namespace).to.equal("kube-system");
      expect(p.spec.nodeName).to.equal("n1");
      expect(p.spec.restartPolicy).to.equal("Always");
      expect(p.metadata.uid).to.match(/^[0-9a-f]{32}$/);
      expect(p.metadata.annotations).to.include({ [HASH_ANNOTATION]: p.metadata.uid, [SOURCE_ANNOTATION]: "file" });
      expect(isStaticPod(p)).to.equal(true);
      expect(isMirrorPod(p)).to.equal(false);
    });

    it("puts a pod without a namespace in default", () => {
      const m = manifest();
      delete m.metadata.namespace;
      expect(staticPod(m, "n1").metadata.namespace).to.equal("default");
    });

    it("keeps the hash when the file is only reformatted, and changes it with the spec or the node", () => {
      const reformatted = parseManifest(JSON.stringify(manifest(), null, 4));
      expect(reformatted.ok && staticPodHash(reformatted.manifest, "n1")).to.equal(staticPodHash(manifest(), "n1"));
      const edited = manifest();
      edited.spec.containers[0]!.command = ["flotilla", "actor", "scheduler", "--verbose"];
      expect(staticPodHash(edited, "n1")).to.not.equal(staticPodHash(manifest(), "n1"));
      expect(staticPodHash(manifest(), "n2")).to.not.equal(staticPodHash(manifest(), "n1"));
    });
  });

  describe("mirrorPodOf", () => {
    it("is the static pod with the mirror annotation, owned by the Node, without the static pod's uid", () => {
      const p = staticPod(manifest(), "n1");
      const m = mirrorPodOf(p, node);
      expect(m.metadata.name).to.equal("kube-scheduler-n1");
      expect(m.metadata.uid).to.equal(undefined);
      expect(m.metadata.annotations).to.include({ [MIRROR_ANNOTATION]: p.metadata.uid, [HASH_ANNOTATION]: p.metadata.uid, [SOURCE_ANNOTATION]: "file" });
      expect(m.metadata.ownerReferences).to.deep.equal([{ apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid-1", controller: true }]);
      expect(m.spec).to.deep.equal(p.spec);
      expect(isMirrorPod(m)).to.equal(true);
      expect(isStaticPod(m)).to.equal(false);
    });
  });

  describe("decideMirror", () => {
    const p = staticPod(manifest(), "n1");
    const mirror = (over: Partial<Pod["metadata"]> = {}): Pod => {
      const m = mirrorPodOf(p, node);
      return { ...m, metadata: { ...m.metadata, uid: "mirror-uid", ...over } };
    };

    it("creates the mirror pod a static pod lacks", () => {
      expect(decideMirror(p, undefined)).to.deep.equal({ type: "create" });
    });

    it("leaves an up-to-date mirror pod alone", () => {
      expect(decideMirror(p, mirror())).to.deep.equal({ type: "none" });
    });

    it("replaces a mirror pod deleted through the API or showing an older manifest", () => {
      expect(decideMirror(p, mirror({ deletionTimestamp: "2026-01-01T00:00:00Z" }))).to.deep.equal({ type: "delete", uid: "mirror-uid", recreate: true });
      expect(decideMirror(p, mirror({ annotations: { [MIRROR_ANNOTATION]: "older" } }))).to.deep.equal({ type: "delete", uid: "mirror-uid", recreate: true });
    });

    it("deletes the mirror pod of a manifest that is gone", () => {
      expect(decideMirror(undefined, mirror())).to.deep.equal({ type: "delete", uid: "mirror-uid", recreate: false });
    });

    it("never touches a pod that is not a mirror pod", () => {
      const ordinary: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: p.metadata.name, namespace: "kube-system", uid: "x" }, spec: { containers: [] } };
      expect(decideMirror(p, ordinary)).to.deep.equal({ type: "nameTaken" });
      expect(decideMirror(undefined, ordinary)).to.deep.equal({ type: "none" });
      expect(decideMirror(undefined, undefined)).to.deep.equal({ type: "none" });
    });
  });

  describe("in the store", () => {
    const mirrorObj = () => stored("pods", { ...mirrorPodOf(staticPod(manifest(), "n1"), node), metadata: { ...mirrorPodOf(staticPod(manifest(), "n1"), node).metadata, namespace: "kube-system" } });

    it("refuses a change to a mirror pod's spec, even of an image", () => {
      const old = mirrorObj();
      const next = clone(old);
      next.spec.containers[0].image = "flotilla:other";
      expect(causeAt(rejected(() => update("pods", next, old)), "spec").message).to.match(/mirror pod is read-only/);
    });

    it("refuses removing or adding the mirror annotation", () => {
      const old = mirrorObj();
      const next = clone(old);
      delete next.metadata.annotations[MIRROR_ANNOTATION];
      causeAt(rejected(() => update("pods", next, old)), `metadata.annotations[${MIRROR_ANNOTATION}]`);
      const plain = stored("pods");
      const forged = clone(plain);
      forged.metadata.annotations = { [MIRROR_ANNOTATION]: "abc" };
      causeAt(rejected(() => update("pods", forged, plain)), `metadata.annotations[${MIRROR_ANNOTATION}]`);
    });

    it("still lets a mirror pod's labels change", () => {
      const old = mirrorObj();
      const next = clone(old);
      next.metadata.labels = { ...next.metadata.labels, extra: "yes" };
      expect(update("pods", next, old).metadata.labels.extra).to.equal("yes");
    });

    it("lets a node create the mirror pods bound to it, and no other pod", () => {
      const m = mirrorPodOf(staticPod(manifest(), "n1"), node);
      expect(refuseForNode("n1", { type: "create", resource: "pods", namespace: "kube-system", object: m })).to.equal(undefined);
      expect(refuseForNode("n2", { type: "create", resource: "pods", namespace: "kube-system", object: m })?.code).to.equal("Forbidden");
      const plain = { ...m, metadata: { ...m.metadata, annotations: {} } };
      expect(refuseForNode("n1", { type: "create", resource: "pods", namespace: "kube-system", object: plain })?.code).to.equal("Forbidden");
    });
  });
});
