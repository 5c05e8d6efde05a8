/**
 * NetworkPolicy in the kernel: the pure rules (which pods are isolated, what each rule lets in or
 * out), then the rules applied in network namespaces — pods of two namespaces on one node bridge,
 * a default deny blocking traffic between them and allow rules opening it again.
 */
import { expect } from "chai";
import type { Namespace, Pod } from "../../../bus/resources.ts";
import type { NetworkPolicy } from "../../../bus/networking.ts";
import { policyRules, NETPOL_CHAIN } from "../../../actors/proxy/network-policy-rules.ts";
import { KernelPolicies } from "../../../actors/proxy/network-policy.ts";
import { NetnsLab, canUseNetns } from "../../harness/netns.ts";
import { waitFor } from "../../harness/cluster.ts";

const pod = (ns: string, name: string, ip: string, labels: Record<string, string> = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }] },
  status: { phase: "Running", podIP: ip },
});
const namespace = (name: string, labels: Record<string, string> = {}): Namespace => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
const policy = (ns: string, name: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec });

const a1 = pod("team-a", "a1", "10.244.1.2", { app: "client" });
const b1 = pod("team-b", "b1", "10.244.1.3", { app: "web" });
const b2 = pod("team-b", "b2", "10.244.1.4", { app: "peer" });
const namespaces = [namespace("team-a", { team: "a" }), namespace("team-b", { team: "b" })];
const denyAll = policy("team-b", "default-deny", { podSelector: {}, policyTypes: ["Ingress"] });
const allowTeamA = policy("team-b", "allow-team-a", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "a" } } }], ports: [{ protocol: "TCP", port: "http" }] }] });
const rulesOf = (policies: NetworkPolicy[], pods = [a1, b1, b2]) => policyRules({ policies, pods, namespaces, isLocal: () => true });
const chainLines = (restore: string, prefix: string) => restore.split("\n").filter((l) => l.startsWith(`-A ${prefix}`));

describe("network policy rules", () => {
  it("isolates no pod without a policy selecting it", () => {
    const r = rulesOf([]);
    expect(r.chains).to.deep.equal([NETPOL_CHAIN]);
    expect(chainLines(r.restore, NETPOL_CHAIN)).to.have.length(1); // established/related only
  });
  it("drops everything to the pods a default deny selects, and only those", () => {
    const r = rulesOf([denyAll]);
    const jumps = chainLines(r.restore, `${NETPOL_CHAIN} -d`);
    expect(jumps.map((l) => l.split(" ")[3])).to.deep.equal(["10.244.1.3/32", "10.244.1.4/32"]);
    const chain = jumps[0]!.split(" ").at(-1)!;
    expect(chainLines(r.restore, chain).at(-1)).to.match(/-j DROP$/);
    expect(chainLines(r.restore, chain).filter((l) => l.endsWith("-j RETURN"))).to.deep.equal([]);
  });
  it("lets in the pods of a selected namespace on a named port", () => {
    const r = rulesOf([denyAll, allowTeamA]);
    const web = chainLines(r.restore, `${NETPOL_CHAIN} -d 10.244.1.3/32`)[0]!.split(" ").at(-1)!;
    expect(chainLines(r.restore, web).filter((l) => l.endsWith("-j RETURN"))).to.deep.equal([
      `-A ${web} -m comment --comment "team-b/allow-team-a ingress[0]" -s 10.244.1.2/32 -p tcp -m tcp --dport 8080 -j RETURN`,
    ]);
  });
  it("checks an ipBlock's excepts before its cidr", () => {
    const r = rulesOf([policy("team-b", "blocks", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ ipBlock: { cidr: "10.244.0.0/16", except: ["10.244.1.0/24"] } }] }] })]);
    const block = r.chains.find((c) => c.startsWith("FLT-NPB-"))!;
    expect(chainLines(r.restore, block)).to.deep.equal([`-A ${block} -s 10.244.1.0/24 -j RETURN`, `-A ${block} -s 10.244.0.0/16 -j MARK --set-xmark 0x20000/0x20000`]);
  });
  it("checks a sender's egress before a receiver's ingress, and ignores pods of other nodes", () => {
    const egress = policy("team-a", "egress", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: {}, namespaceSelector: {} }], ports: [{ port: 8080 }] }] });
    const r = policyRules({ policies: [denyAll, egress], pods: [a1, b1, { ...b2, spec: { ...b2.spec, nodeName: "n2" } }], namespaces, isLocal: (p) => p.spec.nodeName === "n1" });
    const jumps = chainLines(r.restore, NETPOL_CHAIN).slice(1).map((l) => l.split(" ").slice(2, 4).join(" "));
    expect(jumps).to.deep.equal(["-s 10.244.1.2/32", "-d 10.244.1.3/32"]);
  });
});

describe("network policy in the kernel (network namespaces)", function () {
  this.timeout(90_000);
  let lab: NetnsLab;
  let host: string;
  let client: string;
  let sameNs: string;
  let k: KernelPolicies;
  before(function () {
    if (!canUseNetns()) {
      if (process.env.CI === "true") throw new Error("network namespaces and iptables are required under CI=true (run as root)");
      this.skip();
    }
    lab = new NetnsLab();
    host = lab.host("host", "10.244.1.1/24");
    client = lab.pod(host, "a1", "10.244.1.2/24", "10.244.1.1");
    const web = lab.pod(host, "b1", "10.244.1.3/24", "10.244.1.1");
    sameNs = lab.pod(host, "b2", "10.244.1.4/24", "10.244.1.1");
    lab.httpd(web, 8080, "web");
    k = new KernelPolicies({ netns: host });
  });
  after(async () => {
    await k?.cleanup().catch(() => undefined);
    lab?.cleanup();
  });
  const reach = (from: string) => lab.fetch(from, "http://10.244.1.3:8080/", 1500);

  it("blocks traffic between two namespaces' pods under a default deny, and an allow rule opens it again", async () => {
    await waitFor(async () => (await reach(client)) === "web", { timeoutMs: 10_000, what: "the web pod answering before any policy" });
    await k.sync(rulesOf([denyAll]));
    expect(await reach(client)).to.equal(undefined);
    expect(await reach(sameNs)).to.equal(undefined);
    await k.sync(rulesOf([denyAll, allowTeamA]));
    expect(await waitFor(() => reach(client), { timeoutMs: 5000, what: "team-a let in" })).to.equal("web");
    // The allow rule names team-a only: the pod of team-b itself stays out.
    expect(await reach(sameNs)).to.equal(undefined);
  });

  it("blocks a pod's own egress, and leaves nothing behind when cleaned up", async () => {
    const egress = policy("team-a", "no-egress", { podSelector: {}, policyTypes: ["Egress"] });
    await k.sync(rulesOf([denyAll, allowTeamA, egress]));
    expect(await reach(client)).to.equal(undefined);
    await k.cleanup();
    expect(lab.sh(host, "iptables-save -t filter")).to.not.match(/FLT-N(ETPOL|P[IEB]-)/);
    expect(await waitFor(() => reach(sameNs), { timeoutMs: 5000, what: "traffic flowing again" })).to.equal("web");
  });
});
