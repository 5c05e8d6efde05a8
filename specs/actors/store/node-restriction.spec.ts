import type { StoreRequest } from "../../../bus/store-protocol.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import { expect } from "chai";
import { callerOf, refuseForNode, targetToCheck } from "../../../actors/store/node-restriction.ts";
import { subjects } from "../../../bus/subjects.ts";

const s = subjects("c1");
const storePrefix = `${s.storeQueue()}.`;
const nodePrefix = s.storeNodePrefix();
const node = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Node", metadata: { name } });
const pod = (name: string, nodeName?: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { nodeName, containers: [] } } as KubeObject);
const lease = (ns: string, name: string): KubeObject => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace: ns } });

describe("store › NodeRestriction", () => {
  describe("callerOf", () => {
    it("names the node of a request sent on its own subject, and no node for the control plane's", () => {
      expect(callerOf(s.storeAsNode("n1.example", "status"), storePrefix, nodePrefix)).to.deep.equal({ node: "n1.example", verb: "status" });
      expect(callerOf(s.store("create"), storePrefix, nodePrefix)).to.deep.equal({ verb: "create" });
      expect(callerOf(`${s.storeQueue()}.node.n1.status.extra`, storePrefix, nodePrefix)).to.equal(undefined);
    });
  });

  describe("refuseForNode", () => {
    const refused = (req: StoreRequest, current?: KubeObject) => refuseForNode("n1", req, current)?.code;

    it("lets a node create and delete only the local-path volumes pinned to it", () => {
      const pv = (onNode: string, ours = true): KubeObject => ({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "pvc-1", ...(ours ? { annotations: { "pv.kubernetes.io/provisioned-by": "flotilla.io/local-path" } } : {}) },
        spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [onNode] }] }] } } },
      });
      expect(refused({ type: "create", resource: "persistentvolumes", object: pv("n1") })).to.equal(undefined);
      expect(refused({ type: "create", resource: "persistentvolumes", object: pv("n2") })).to.equal("Forbidden");
      expect(refused({ type: "create", resource: "persistentvolumes", object: pv("n1", false) })).to.equal("Forbidden");
      expect(targetToCheck({ type: "delete", resource: "persistentvolumes", name: "pvc-1" })).to.deep.equal({ resource: "persistentvolumes", name: "pvc-1" });
      expect(refused({ type: "delete", resource: "persistentvolumes", name: "pvc-1" }, pv("n1"))).to.equal(undefined);
      expect(refused({ type: "delete", resource: "persistentvolumes", name: "pvc-1" }, pv("n2"))).to.equal("Forbidden");
      expect(refused({ type: "update", resource: "persistentvolumes", name: "pvc-1", object: pv("n1") })).to.equal("Forbidden");
    });

    it("lets a node read anything", () => {
      expect(refused({ type: "get", resource: "secrets", namespace: "default", name: "x" })).to.equal(undefined);
      expect(refused({ type: "list", resource: "pods" })).to.equal(undefined);
    });

    it("lets a node write its own Node and Lease only", () => {
      expect(refused({ type: "create", resource: "nodes", object: node("n1") })).to.equal(undefined);
      expect(refused({ type: "status", resource: "nodes", name: "n1", object: node("n1") })).to.equal(undefined);
      expect(refused({ type: "status", resource: "nodes", name: "n2", object: node("n2") })).to.equal("Forbidden");
      expect(refused({ type: "delete", resource: "nodes", name: "n2" })).to.equal("Forbidden");
      expect(refused({ type: "update", resource: "leases", namespace: "kube-node-lease", name: "n1", object: lease("kube-node-lease", "n1") })).to.equal(undefined);
      expect(refused({ type: "update", resource: "leases", namespace: "kube-node-lease", name: "n2", object: lease("kube-node-lease", "n2") })).to.equal("Forbidden");
      expect(refused({ type: "create", resource: "leases", namespace: "kube-system", object: lease("kube-system", "scheduler") })).to.equal("Forbidden");
    });

    it("lets a node change pods bound to it only, and never create, bind or evict", () => {
      const status: StoreRequest = { type: "status", resource: "pods", namespace: "default", name: "p", object: pod("p", "n1") };
      expect(targetToCheck(status)).to.deep.equal({ resource: "pods", namespace: "default", name: "p" });
      expect(refused(status, pod("p", "n1"))).to.equal(undefined);
      expect(refused(status, pod("p", "n2"))).to.equal("Forbidden");
      expect(refused(status, pod("p"))).to.equal("Forbidden");
      expect(refused({ type: "delete", resource: "pods", namespace: "default", name: "p" }, pod("p", "n2"))).to.equal("Forbidden");
      expect(refused({ type: "update", resource: "pods", namespace: "default", name: "p", object: pod("p", "n2") }, pod("p", "n1"))).to.equal("Forbidden");
      expect(refused({ type: "create", resource: "pods", namespace: "default", object: pod("p", "n1") })).to.equal("Forbidden");
      expect(refused({ type: "bind", namespace: "default", name: "p", node: "n1" })).to.equal("Forbidden");
      expect(refused({ type: "bindAll", bindings: [{ namespace: "default", name: "p", node: "n1" }] })).to.equal("Forbidden");
      expect(refused({ type: "evict", namespace: "default", name: "p" })).to.equal("Forbidden");
    });

    it("lets a node record Events and refuses every other write", () => {
      expect(refused({ type: "create", resource: "events", namespace: "default", object: { apiVersion: "v1", kind: "Event", metadata: { name: "e" } } })).to.equal(undefined);
      expect(refused({ type: "create", resource: "configmaps", namespace: "default", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } } })).to.equal("Forbidden");
      expect(refused({ type: "create", resource: "namespaces", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-node-lease" } } })).to.equal("Forbidden");
    });
  });
});
