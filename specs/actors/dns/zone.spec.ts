import { expect } from "chai";
import type { Endpoints, Pod, Service } from "../../../bus/resources.ts";
import { answer, buildZone, reverseName } from "../../../actors/dns/zone.ts";

const svc = (name: string, ns: string, spec: Partial<Service["spec"]>): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: ns },
  spec: { ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec },
});
const eps = (name: string, ns: string, addrs: { ip: string; hostname?: string }[], notReady: string[] = []): Endpoints => ({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name, namespace: ns },
  subsets: [{ addresses: addrs, notReadyAddresses: notReady.map((ip) => ({ ip })), ports: [{ name: "http", port: 8080, protocol: "TCP" }] }],
});
const pod = (name: string, ns: string, ip: string): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: "c", image: "busybox" }] },
  status: { podIP: ip, podIPs: [{ ip }] },
});

describe("dns zone", () => {
  const zone = buildZone({
    services: [
      svc("web", "default", { clusterIP: "10.96.0.12", clusterIPs: ["10.96.0.12"] }),
      svc("db", "data", { clusterIP: "None" }),
      svc("ext", "default", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }),
    ],
    endpoints: [eps("db", "data", [{ ip: "10.244.1.5", hostname: "db-0" }, { ip: "10.244.2.7" }], ["10.244.3.9"])],
    pods: [pod("db-0", "data", "10.244.1.5"), pod("x", "default", "10.244.1.9")],
  });
  const data = (name: string, type: string) => {
    const r = answer(zone, { name, type });
    return r.rcode === "FORWARD" ? r.rcode : r.answers.map((a) => (typeof a.data === "string" ? a.data : `${a.data.port} ${a.data.target}`));
  };

  it("answers a ClusterIP Service's name with its ClusterIP", () => {
    expect(data("web.default.svc.cluster.local", "A")).to.deep.equal(["10.96.0.12"]);
    expect(data("WEB.Default.svc.cluster.local.", "A")).to.deep.equal(["10.96.0.12"]);
  });
  it("answers a headless Service's name with its ready pod IPs only", () => {
    expect(data("db.data.svc.cluster.local", "A")).to.have.members(["10.244.1.5", "10.244.2.7"]);
  });
  it("answers SRV for named ports: the Service name for ClusterIP, each endpoint for headless", () => {
    expect(data("_http._tcp.web.default.svc.cluster.local", "SRV")).to.deep.equal(["80 web.default.svc.cluster.local"]);
    expect(data("_http._tcp.db.data.svc.cluster.local", "SRV")).to.have.members(["8080 db-0.db.data.svc.cluster.local", "8080 10-244-2-7.db.data.svc.cluster.local"]);
  });
  it("answers pod hostname records under the governing Service", () => {
    expect(data("db-0.db.data.svc.cluster.local", "A")).to.deep.equal(["10.244.1.5"]);
  });
  it("answers dashed pod names only for addresses of pods in that namespace", () => {
    expect(data("10-244-1-9.default.pod.cluster.local", "A")).to.deep.equal(["10.244.1.9"]);
    expect(answer(zone, { name: "10-244-1-9.data.pod.cluster.local", type: "A" }).rcode).to.equal("NXDOMAIN");
  });
  it("answers PTR for ClusterIPs and for hostnamed endpoints", () => {
    expect(data("12.0.96.10.in-addr.arpa", "PTR")).to.deep.equal(["web.default.svc.cluster.local"]);
    expect(data("5.1.244.10.in-addr.arpa", "PTR")).to.deep.equal(["db-0.db.data.svc.cluster.local"]);
    expect(reverseName("fd00::1")).to.match(/^1\.0\.0\.0(\.0){24}\.0\.0\.d\.f\.ip6\.arpa$/);
  });
  it("follows an ExternalName CNAME that points into the cluster", () => {
    expect(data("ext.default.svc.cluster.local", "A")).to.deep.equal(["web.default.svc.cluster.local", "10.96.0.12"]);
  });
  it("says NXDOMAIN for unknown names in the cluster domain, and no data for names that exist without that type", () => {
    expect(answer(zone, { name: "nope.default.svc.cluster.local", type: "A" }).rcode).to.equal("NXDOMAIN");
    const aaaa = answer(zone, { name: "web.default.svc.cluster.local", type: "AAAA" });
    expect(aaaa).to.deep.include({ rcode: "NOERROR", answers: [] });
    expect(answer(zone, { name: "default.svc.cluster.local", type: "A" })).to.deep.include({ rcode: "NOERROR", answers: [] });
  });
  it("forwards names outside the cluster domain and reverse names it does not hold", () => {
    expect(answer(zone, { name: "example.org", type: "A" }).rcode).to.equal("FORWARD");
    expect(answer(zone, { name: "1.0.0.127.in-addr.arpa", type: "PTR" }).rcode).to.equal("FORWARD");
  });
});
