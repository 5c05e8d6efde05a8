import { expect } from "chai";
import type { Endpoints, Pod, Service } from "../../../bus/resources.ts";
import type { EndpointSlice } from "../../../bus/networking.ts";
import { reconcile, desiredSlices, MAX_ENDPOINTS_PER_SLICE } from "../../../actors/endpointslice-controller/endpointslices.ts";

const svc = (o: Partial<Service["spec"]> = {}): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "default", uid: "svc-uid", labels: { team: "a" } },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...o },
});
const pod = (name: string, ip: string, o: { ready?: boolean; deleting?: boolean; node?: string } = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { app: "web" }, ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
  spec: { nodeName: o.node ?? "n1", containers: [{ name: "c", image: "busybox" }] },
  status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
});
const view = (o: { service?: Service; pods?: Pod[]; slices?: EndpointSlice[]; endpoints?: Endpoints }) => ({ key: { namespace: "default", name: "web" }, slices: [], pods: [], ...o });

describe("endpointslice controller", () => {
  describe("on a Service with a selector", () => {
    it("creates a slice with the service labels, ports, node names and ready/serving/terminating conditions", () => {
      const { commands } = reconcile("default/web", view({ service: svc(), pods: [pod("a", "10.0.0.2"), pod("b", "10.0.0.1", { ready: false, node: "n2" }), pod("c", "10.0.0.3", { deleting: true })] }));
      expect(commands).to.have.length(1);
      const c = commands[0]!;
      if (c.type !== "endpointslice.create") throw new Error(c.type);
      expect(c.slice.metadata.labels).to.deep.equal({ team: "a", "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" });
      expect(c.slice.metadata.ownerReferences?.[0]).to.include({ kind: "Service", name: "web", uid: "svc-uid", controller: true });
      expect(c.slice.addressType).to.equal("IPv4");
      expect(c.slice.ports).to.deep.equal([{ name: "http", port: 8080, protocol: "TCP" }]);
      expect(c.slice.endpoints!.map((e) => [e.addresses[0], e.nodeName, e.conditions])).to.deep.equal([
        ["10.0.0.1", "n2", { ready: false, serving: false, terminating: false }],
        ["10.0.0.2", "n1", { ready: true, serving: true, terminating: false }],
        ["10.0.0.3", "n1", { ready: false, serving: true, terminating: true }],
      ]);
    });
    it("writes nothing when the stored slice is already right, and updates it when a pod changes", () => {
      const want = desiredSlices(svc(), { pods: [pod("a", "10.0.0.2")] });
      const stored = want.map((s) => ({ ...s, metadata: { ...s.metadata, resourceVersion: "7" } }));
      expect(reconcile("default/web", view({ service: svc(), pods: [pod("a", "10.0.0.2")], slices: stored })).commands).to.deep.equal([]);
      const { commands } = reconcile("default/web", view({ service: svc(), pods: [pod("a", "10.0.0.2", { ready: false })], slices: stored }));
      expect(commands.map((c) => c.type)).to.deep.equal(["endpointslice.update"]);
    });
    it(`splits more than ${MAX_ENDPOINTS_PER_SLICE} endpoints over several slices`, () => {
      const pods = Array.from({ length: 150 }, (_, i) => pod(`p${i}`, `10.0.${Math.floor(i / 200)}.${(i % 200) + 1}`));
      const slices = desiredSlices(svc(), { pods });
      expect(slices.map((s) => s.endpoints!.length)).to.deep.equal([100, 50]);
    });
    it("deletes the slices of a deleted Service, and leaves slices someone else manages alone", () => {
      const mine = desiredSlices(svc(), { pods: [pod("a", "10.0.0.2")] });
      const other = { ...mine[0]!, metadata: { ...mine[0]!.metadata, name: "web-custom", labels: { "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "someone" } } };
      const { commands } = reconcile("default/web", view({ slices: [...mine, other] }));
      expect(commands).to.deep.equal([{ type: "endpointslice.delete", namespace: "default", name: mine[0]!.metadata.name }]);
    });
  });
  describe("on a Service without a selector", () => {
    it("mirrors its Endpoints, ready and not-ready addresses", () => {
      const endpoints: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: "default" }, subsets: [{ addresses: [{ ip: "127.0.0.1" }], notReadyAddresses: [{ ip: "127.0.0.2" }], ports: [{ port: 6443 }] }] };
      const { commands } = reconcile("default/web", view({ service: svc({ selector: undefined }), endpoints }));
      const c = commands[0]!;
      if (c.type !== "endpointslice.create") throw new Error(c.type);
      expect(c.slice.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]).to.equal("endpointslicemirroring-controller.k8s.io");
      expect(c.slice.endpoints!.map((e) => [e.addresses[0], e.conditions?.ready])).to.deep.equal([["127.0.0.1", true], ["127.0.0.2", false]]);
      expect(c.slice.ports).to.deep.equal([{ name: "", port: 6443, protocol: "TCP" }]);
    });
    it("ignores a Service with neither a selector nor Endpoints", () => {
      expect(reconcile("default/web", view({ service: svc({ selector: undefined }) })).commands).to.deep.equal([]);
    });
  });
});
