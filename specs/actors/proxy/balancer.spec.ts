import { expect } from "chai";
import type { Endpoints, Service } from "../../../bus/resources.ts";
import { Balancer } from "../../../actors/proxy/balancer.ts";
import { desiredListeners, portConfigs, diffListeners } from "../../../actors/proxy/table.ts";

const b = (n: number) => ({ ip: `10.0.0.${n}`, port: 8080 });

describe("proxy", () => {
  describe("Balancer", () => {
    it("spreads connections round-robin over the ready backends", () => {
      const lb = new Balancer();
      lb.setBackends([b(1), b(2), b(3)]);
      const picks = Array.from({ length: 6 }, () => lb.pick("c", 0)!.ip);
      expect(picks).to.deep.equal(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    });
    it("stops picking a backend as soon as it leaves the set", () => {
      const lb = new Balancer();
      lb.setBackends([b(1), b(2)]);
      lb.setBackends([b(2)]);
      expect(new Set(Array.from({ length: 4 }, () => lb.pick("c", 0)!.ip))).to.deep.equal(new Set(["10.0.0.2"]));
    });
    it("keeps a client on its backend with ClientIP affinity until the timeout", () => {
      const lb = new Balancer({ sessionAffinity: "ClientIP", affinityTimeoutSeconds: 10 });
      lb.setBackends([b(1), b(2), b(3)]);
      const first = lb.pick("1.1.1.1", 0)!.ip;
      expect(lb.pick("1.1.1.1", 5_000)!.ip).to.equal(first);
      expect(lb.pick("2.2.2.2", 5_000)!.ip).to.not.equal(first);
      expect(lb.pick("1.1.1.1", 30_000)!.ip).to.not.equal(undefined);
    });
    it("moves a sticky client when its backend leaves", () => {
      const lb = new Balancer({ sessionAffinity: "ClientIP" });
      lb.setBackends([b(1), b(2)]);
      const first = lb.pick("c", 0)!;
      lb.setBackends([b(1), b(2)].filter((x) => x.ip !== first.ip));
      expect(lb.pick("c", 1)!.ip).to.not.equal(first.ip);
    });
    it("returns nothing without backends and skips backends already tried", () => {
      const lb = new Balancer();
      expect(lb.pick("c", 0)).to.equal(undefined);
      lb.setBackends([b(1), b(2)]);
      expect(lb.pickExcept("c", 0, new Set(["10.0.0.1:8080"]))!.ip).to.equal("10.0.0.2");
      expect(lb.pickExcept("c", 0, new Set(["10.0.0.1:8080", "10.0.0.2:8080"]))).to.equal(undefined);
    });
  });

  describe("table", () => {
    const svc: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default", annotations: { "flotilla.io/bridge-ports": JSON.stringify({ "80/TCP": 24080 }) } },
      spec: { type: "NodePort", clusterIP: "127.96.0.10", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080 }] },
    };
    const ep: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [{ addresses: [{ ip: "10.0.0.1" }], notReadyAddresses: [{ ip: "10.0.0.2" }], ports: [{ name: "http", port: 8080 }] }],
    };
    it("listens on the ClusterIP, the node address for a NodePort and the bridge gateway at the Service's bridge port", () => {
      const l = desiredListeners([svc], { nodeAddress: "127.0.0.1", bridgeAddresses: ["172.17.0.1"] });
      expect(l.map((x) => `${x.via} ${x.id}`)).to.deep.equal(["nodePort TCP/127.0.0.1:30080", "clusterIP TCP/127.96.0.10:80", "bridge TCP/172.17.0.1:24080"]);
    });
    it("skips headless and ExternalName services", () => {
      const headless = { ...svc, spec: { ...svc.spec, type: "ClusterIP" as const, clusterIP: "None" } };
      expect(desiredListeners([headless], { nodeAddress: "127.0.0.1", bridgeAddresses: [] })).to.deep.equal([]);
    });
    it("balances over ready addresses only", () => {
      const [c] = portConfigs([svc], () => ep);
      expect(c!.backends).to.deep.equal([{ ip: "10.0.0.1", port: 8080, pod: undefined }]);
    });
    it("closes the listeners of a deleted service", () => {
      const d = diffListeners(new Set(["TCP/127.96.0.10:80"]), []);
      expect(d).to.deep.equal({ open: [], close: ["TCP/127.96.0.10:80"] });
    });
  });
});
