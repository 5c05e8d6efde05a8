/**
 * The network-policy actor against a real store, enforcing in network namespaces: pods of two
 * namespaces on one node bridge; a default deny written through the store blocks team-a's pod
 * from team-b's within seconds, an allow rule opens it again, and stopping removes every rule.
 */
import { expect } from "chai";
import type { Pod } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { NetnsLab, canUseNetns } from "../harness/netns.ts";
import { networkPolicy } from "../../actors/proxy/network-policy.ts";

describe("network-policy actor (integration, network namespaces)", function () {
  this.timeout(90_000);
  let lab: NetnsLab;
  let host: string;
  let client: string;
  let c: TestCluster;
  let actor: Host | undefined;
  before(async function () {
    if (!canUseNetns()) {
      if (process.env.CI === "true") throw new Error("network namespaces and iptables are required under CI=true (run as root)");
      this.skip();
    }
    lab = new NetnsLab();
    host = lab.host("host", "10.244.2.1/24");
    client = lab.pod(host, "a1", "10.244.2.2/24", "10.244.2.1");
    const web = lab.pod(host, "b1", "10.244.2.3/24", "10.244.2.1");
    lab.httpd(web, 8080, "web");
    c = await startTestCluster();
    for (const [ns, team] of [["team-a", "a"], ["team-b", "b"]] as const) await c.store.create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { team } } });
    for (const [ns, name, ip, app] of [["team-a", "a1", "10.244.2.2", "client"], ["team-b", "b1", "10.244.2.3", "web"]] as const) {
      const p = await c.store.create<Pod>("pods", ns, { apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app } }, spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] } } as Pod);
      await c.store.updateStatus("pods", { ...p, status: { phase: "Running", podIP: ip } });
    }
    actor = await c.startActors([{ def: networkPolicy, opts: { nodeName: "n1", netns: host } }]);
  });
  after(async () => {
    await actor?.stop();
    await c?.stop();
    lab?.cleanup();
  });
  const reach = () => lab.fetch(client, "http://10.244.2.3:8080/", 1500);

  it("blocks, opens again and finally forgets traffic between two namespaces' pods as policies are written", async () => {
    await waitFor(async () => (await reach()) === "web", { timeoutMs: 10_000, what: "the web pod answering" });
    await c.store.create("networkpolicies", "team-b", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny" }, spec: { podSelector: {} } });
    await waitFor(async () => (await reach()) === undefined, { timeoutMs: 10_000, what: "traffic blocked" });
    await c.store.create("networkpolicies", "team-b", {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "allow-a" },
      spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "a" } } }], ports: [{ port: 8080 }] }] },
    });
    await waitFor(async () => (await reach()) === "web", { timeoutMs: 10_000, what: "traffic allowed again" });
    await actor!.stop();
    actor = undefined;
    expect(lab.sh(host, "iptables-save -t filter")).to.not.match(/FLT-N(ETPOL|P[IEB]-)/);
  });
});
