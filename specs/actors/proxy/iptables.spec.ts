import { expect } from "chai";
import type { Endpoints, Service } from "../../../bus/resources.ts";
import { serviceRules, CHAIN } from "../../../actors/proxy/iptables-rules.ts";
import { KernelServices } from "../../../actors/proxy/iptables.ts";
import { commandRunner } from "../../../runtime/command.ts";
import { NetnsLab, canUseNetns } from "../../harness/netns.ts";
import { waitFor } from "../../harness/cluster.ts";

const svc = (name: string, spec: Partial<Service["spec"]>): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { clusterIP: "10.96.0.50", ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec },
});
const eps = (name: string, addrs: { ip: string; nodeName?: string }[]): Endpoints => ({
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name, namespace: "default" },
  subsets: [{ addresses: addrs, ports: [{ name: "http", port: 8080, protocol: "TCP" }] }],
});

describe("kernel services (iptables rules)", () => {
  const node = { name: "n1", clusterCIDR: "10.244.0.0/16" };
  it("spreads a ClusterIP over every ready endpoint with decreasing probabilities", () => {
    const s = svc("web", {});
    const r = serviceRules({ services: [s], endpointsOf: () => eps("web", [{ ip: "10.244.1.2" }, { ip: "10.244.1.3" }, { ip: "10.244.2.2" }]), node });
    const lines = r.restore.split("\n");
    expect(lines.filter((l) => l.includes("--probability"))).to.have.length(2);
    expect(lines.some((l) => l.includes("--probability 0.3333333333"))).to.equal(true);
    expect(lines.some((l) => l.includes("--probability 0.5000000000"))).to.equal(true);
    expect(lines.filter((l) => l.includes("-j DNAT --to-destination"))).to.have.length(3);
    expect(lines.some((l) => l.startsWith(`-A ${CHAIN.services}`) && l.includes("-d 10.96.0.50/32 -p tcp -m tcp --dport 80"))).to.equal(true);
  });
  it("rejects at once for a Service with no ready endpoint", () => {
    const r = serviceRules({ services: [svc("web", {})], endpointsOf: () => undefined, node });
    expect(r.restore).to.match(/\*filter[\s\S]*-d 10\.96\.0\.50\/32 -p tcp -m tcp --dport 80 -j REJECT/);
    expect(r.restore).to.not.include("DNAT");
  });
  it("keeps a client on one endpoint with sessionAffinity ClientIP", () => {
    const r = serviceRules({ services: [svc("web", { sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })], endpointsOf: () => eps("web", [{ ip: "10.244.1.2" }, { ip: "10.244.1.3" }]), node });
    expect(r.restore.match(/--rcheck --seconds 60 --reap/g)).to.have.length(2);
    expect(r.restore.match(/-m recent --name FLT-SEP-\w+ --set -j DNAT/g)).to.have.length(2);
  });
  it("sends NodePort traffic with externalTrafficPolicy Local only to this node's endpoints, and drops it when there are none", () => {
    const local = svc("web", { type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "http", port: 80, nodePort: 30080, protocol: "TCP" }] });
    const on = (n: string) => serviceRules({ services: [local], endpointsOf: () => eps("web", [{ ip: "10.244.1.2", nodeName: "n1" }, { ip: "10.244.2.2", nodeName: "n2" }]), node: { ...node, name: n } });
    const xlb = (r: string) => r.split("\n").filter((l) => l.startsWith("-A FLT-XLB-"));
    expect(xlb(on("n1").restore).filter((l) => l.includes("FLT-SEP-"))).to.have.length(1);
    expect(on("n3").restore).to.match(/--dport 30080 -j DROP/);
  });
  it("rejects, as its last filter rule, whatever is still addressed to the service CIDR after the nat table", () => {
    const r = serviceRules({ services: [svc("web", {})], endpointsOf: () => eps("web", [{ ip: "10.244.1.2" }]), node: { ...node, serviceCIDR: "10.96.0.0/12" } });
    const filter = r.restore.slice(r.restore.indexOf("*filter"), r.restore.indexOf("*nat")).split("\n").filter((l) => l.startsWith(`-A ${CHAIN.services}`));
    expect(filter.at(-1)).to.match(/-d 10\.96\.0\.0\/12 -j REJECT --reject-with icmp-net-unreachable$/);
    expect(serviceRules({ services: [], endpointsOf: () => undefined, node }).restore).to.not.include("10.96.0.0/12");
  });
  it("skips headless and ExternalName Services", () => {
    const r = serviceRules({ services: [svc("h", { clusterIP: "None" }), svc("e", { type: "ExternalName", externalName: "x.example" })], endpointsOf: () => undefined, node });
    expect(r.restore).to.not.include("FLT-SVC-");
    expect(r.restore).to.not.include("REJECT");
  });
});

describe("kernel services (network namespaces)", function () {
  this.timeout(60_000);
  let lab: NetnsLab;
  let host: string;
  let client: string;
  let k: KernelServices;

  before(function () {
    if (!canUseNetns()) {
      if (process.env.CI === "true") throw new Error("network namespaces and iptables are required under CI=true (run as root)");
      this.skip();
    }
    lab = new NetnsLab();
    host = lab.host("host", "10.244.1.1/24");
    client = lab.pod(host, "client", "10.244.1.2/24", "10.244.1.1");
    const b1 = lab.pod(host, "b1", "10.244.1.3/24", "10.244.1.1");
    const b2 = lab.pod(host, "b2", "10.244.1.4/24", "10.244.1.1");
    lab.httpd(b1, 8080, "b1");
    lab.httpd(b2, 8080, "b2");
    k = new KernelServices({ netns: host });
  });
  after(async () => {
    await k?.cleanup().catch(() => undefined);
    lab?.cleanup();
  });

  const web = svc("web", {});
  const both = eps("web", [{ ip: "10.244.1.3" }, { ip: "10.244.1.4" }]);

  it("DNATs a ClusterIP to every ready endpoint, including the client's own (hairpin), past the service CIDR's reject", async () => {
    await k.sync(serviceRules({ services: [web], endpointsOf: () => both, node: { name: "n1", clusterCIDR: "10.244.0.0/16", serviceCIDR: "10.96.0.0/12" } }));
    const seen = new Set<string>();
    await waitFor(() => {
      const body = lab.get(client, "http://10.96.0.50/");
      if (body) seen.add(body);
      return seen.size === 2;
    }, { timeoutMs: 20_000, what: "answers from both backends through the ClusterIP" });
    // Hairpin: a backend reaching its own Service.
    const b1 = `${lab.prefix}-b1`;
    await waitFor(() => lab.get(b1, "http://10.96.0.50/"), { timeoutMs: 10_000, what: "a backend reaching its own Service" });
  });

  it("updates only what changed, and a Service without endpoints is refused at once", async () => {
    const changed = await k.sync(serviceRules({ services: [web], endpointsOf: () => eps("web", [{ ip: "10.244.1.4" }]), node: { name: "n1", clusterCIDR: "10.244.0.0/16" } }));
    expect(changed).to.be.greaterThan(0).and.below(5);
    for (let i = 0; i < 10; i++) expect(lab.get(client, "http://10.96.0.50/")).to.equal("b2");
    await k.sync(serviceRules({ services: [web], endpointsOf: () => undefined, node: { name: "n1", clusterCIDR: "10.244.0.0/16" } }));
    const t0 = Date.now();
    expect(lab.get(client, "http://10.96.0.50/")).to.equal(undefined);
    expect(Date.now() - t0).to.be.below(3000); // refused, not a connect timeout
  });

  it("leaves no chain or jump behind when cleaned up", async () => {
    await k.cleanup();
    const run = commandRunner(host);
    const nat = await run("iptables-save", ["-t", "nat"]);
    const filter = await run("iptables-save", ["-t", "filter"]);
    expect(nat.stdout + filter.stdout).to.not.include("FLT-");
  });
});
