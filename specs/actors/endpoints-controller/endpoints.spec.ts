import { expect } from "chai";
import type { Endpoints, Pod, Service } from "../../../bus/resources.ts";
import { computeSubsets, decideEndpoints } from "../../../actors/endpoints-controller/endpoints.ts";
import { POD_PORTS_ANNOTATION } from "../../../bus/service-links.ts";

function svc(over: Partial<Service["spec"]> = {}): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, clusterIP: "127.96.0.10", ports: [{ name: "http", port: 80, targetPort: "http" }], ...over },
  };
}
function pod(name: string, ip: string, ready: boolean, over: { annotations?: Record<string, string>; labels?: Record<string, string>; port?: number; deleting?: boolean } = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: over.labels ?? { app: "web" }, annotations: over.annotations, deletionTimestamp: over.deleting ? "2026-01-01T00:00:00Z" : undefined },
    spec: { nodeName: "n1", containers: [{ name: "c", ports: [{ name: "http", containerPort: over.port ?? 8080 }] }] },
    status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

describe("endpoints controller", () => {
  describe("computeSubsets", () => {
    it("lists ready pods in addresses and the others in notReadyAddresses, with a targetRef and nodeName", () => {
      const s = computeSubsets(svc(), [pod("a", "10.0.0.1", true), pod("b", "10.0.0.2", false)]);
      expect(s).to.have.length(1);
      expect(s[0]!.addresses!.map((a) => a.ip)).to.deep.equal(["10.0.0.1"]);
      expect(s[0]!.notReadyAddresses!.map((a) => a.ip)).to.deep.equal(["10.0.0.2"]);
      expect(s[0]!.addresses![0]).to.deep.include({ nodeName: "n1", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" } });
      expect(s[0]!.ports).to.deep.equal([{ name: "http", port: 8080, protocol: "TCP" }]);
    });
    it("resolves a named targetPort per pod, grouping pods by their resolved ports", () => {
      const s = computeSubsets(svc(), [pod("a", "10.0.0.1", true, { port: 8080 }), pod("b", "10.0.0.2", true, { port: 9090 })]);
      expect(s.map((x) => x.ports![0]!.port).sort()).to.deep.equal([8080, 9090]);
    });
    it("uses the host port the kubelet reported for a process pod", () => {
      const p = pod("a", "127.0.0.1", true, { annotations: { [POD_PORTS_ANNOTATION]: JSON.stringify({ "8080": 41234 }) } });
      expect(computeSubsets(svc(), [p])[0]!.ports![0]!.port).to.equal(41234);
    });
    it("leaves out pods of other labels, without an IP, and terminating pods", () => {
      const noIp = pod("c", "", true);
      const s = computeSubsets(svc(), [pod("a", "10.0.0.1", true, { labels: { app: "db" } }), noIp, pod("d", "10.0.0.4", true, { deleting: true })]);
      expect(s).to.deep.equal([]);
    });
    it("uses a numeric targetPort as it is", () => {
      const s = computeSubsets(svc({ ports: [{ port: 80, targetPort: 8000 }] }), [pod("a", "10.0.0.1", true)]);
      expect(s[0]!.ports).to.deep.equal([{ port: 8000, protocol: "TCP" }]);
    });
  });

  describe("decideEndpoints", () => {
    const key = { namespace: "default", name: "web" };
    it("creates Endpoints named after the service", () => {
      const [c] = decideEndpoints(svc(), undefined, [pod("a", "10.0.0.1", true)], key);
      expect(c.type).to.equal("endpoints.create");
      expect(c.type === "endpoints.create" && c.endpoints.metadata).to.deep.include({ name: "web", namespace: "default" });
    });
    it("does nothing when the stored Endpoints already match, whatever their key order", () => {
      const [c] = decideEndpoints(svc(), undefined, [pod("a", "10.0.0.1", true)], key);
      const stored = JSON.parse(JSON.stringify(c.type === "endpoints.create" ? c.endpoints : {})) as Endpoints;
      stored.subsets = stored.subsets!.map((s) => ({ ports: s.ports, addresses: s.addresses }));
      expect(decideEndpoints(svc(), stored, [pod("a", "10.0.0.1", true)], key)).to.deep.equal([]);
    });
    it("updates Endpoints when a pod turns not ready", () => {
      const [c] = decideEndpoints(svc(), undefined, [pod("a", "10.0.0.1", true)], key);
      const stored = c.type === "endpoints.create" ? c.endpoints : undefined;
      const [u] = decideEndpoints(svc(), stored, [pod("a", "10.0.0.1", false)], key);
      expect(u.type === "endpoints.update" && u.endpoints.subsets![0]!.notReadyAddresses!.length).to.equal(1);
    });
    it("deletes the Endpoints of a deleted service and leaves those of a selector-less one alone", () => {
      const ep: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web", namespace: "default" } };
      expect(decideEndpoints(undefined, ep, [], key).map((c) => c.type)).to.deep.equal(["endpoints.delete"]);
      expect(decideEndpoints(svc({ selector: undefined }), ep, [], key)).to.deep.equal([]);
    });
  });
});
