/**
 * Pod networking wired end to end on one node: a kubelet in pod mode (process engine) whose node
 * side is a test host (a network namespace this spec creates, 10.199.0.1 with an uplink to the
 * spec's own namespace at 10.199.0.254), the node IPAM controller handing out its podCIDR, the
 * proxy in kernel mode inside the host, and the dns actor on the uplink serving the kube-dns
 * ClusterIP 10.96.0.10. Two busybox httpd pods: A reaches B by pod IP, by ClusterIP and by the
 * Service's DNS names, and nothing is left behind when the pods and the node go.
 */
import { expect } from "chai";
import type { Node, Pod, Service } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { NetnsLab, canUseNetns } from "../harness/netns.ts";
import { unavailable } from "../harness/optional.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { proxy } from "../../actors/proxy/index.ts";
import { dns } from "../../actors/dns/index.ts";
import { nodeIpamController } from "../../actors/node-ipam-controller/index.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { podNetnsName } from "../../actors/kubelet/pod-network.ts";
import { inCidr } from "../../bus/cidr.ts";

describe("pod networking (process engine, one node in a test host)", function () {
  this.timeout(120_000);
  let c: TestCluster;
  let lab: NetnsLab;
  let hostA: string;
  let nodeHost: Host | undefined;
  let dir: string;
  const node = `pn-${Math.random().toString(36).slice(2, 7)}`;
  const pods: Record<string, Pod> = {};

  const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  const running = async (name: string) => {
    const p = await c.store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };
  const podSpec = (name: string, app: string): Pod => {
    const root = join(dir, name);
    rmSync(root, { recursive: true, force: true });
    execFileSync("mkdir", ["-p", root]);
    writeFileSync(join(root, "index.html"), `hello from ${name}\n`);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { app } },
      spec: { nodeName: node, containers: [{ name: "web", image: "busybox", command: ["busybox", "httpd", "-f", "-p", "8080", "-h", root], ports: [{ containerPort: 8080 }] }] },
    };
  };

  before(async function () {
    if (!canUseNetns()) unavailable(this, "network namespaces", "run as root with iproute2 and iptables");
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-podnet-"));
    hostA = lab.netns("a");
    lab.uplink(hostA, "10.199.0.1/24", "10.199.0.254/24");
    c = await startTestCluster({
      storeOpts: { serviceCidr: "10.96.0.0/12" },
      actors: [
        { def: nodeIpamController, opts: { clusterCIDR: "10.244.0.0/16" } },
        { def: endpointsController, opts: {} },
        { def: dns, opts: { listen: "10.199.0.254:0", clusterIP: "10.96.0.10", upstreams: [] } },
      ],
    });
    nodeHost = await c.startActors([
      { def: kubelet, opts: { nodeName: node, engine: "process", network: "pod", nodeNetns: hostA, hostIP: "10.199.0.1", dataDir: dir } },
      { def: proxy, opts: { nodeName: node, mode: "kernel", clusterCIDR: "10.244.0.0/16", netns: hostA, nodeAddress: "10.199.0.1" } },
    ]);
  });
  after(async () => {
    await nodeHost?.stop().catch(() => undefined);
    await c?.stop();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives the node a podCIDR and says it runs pods in their own network", async () => {
    const n = await waitFor(async () => {
      const n = await c.store.get<Node>("nodes", undefined, node).catch(() => undefined);
      return n?.metadata.labels?.["flotilla.io/network"] === "pod" && n.spec?.podCIDR && n.status?.conditions?.find((x) => x.type === "NetworkUnavailable")?.message?.includes(n.spec.podCIDR) ? n : undefined;
    }, { timeoutMs: 20_000, what: "the node's podCIDR and network condition" });
    expect(inCidr(n.spec!.podCIDR!.split("/")[0]!, "10.244.0.0/16")).to.equal(true);
  });

  it("runs each pod in its own namespace with an address from the node's podCIDR", async () => {
    for (const [name, app] of [["pod-a", "a"], ["pod-b", "b"]] as const) await c.store.create("pods", "default", podSpec(name, app));
    pods.a = await waitFor(() => running("pod-a"), { timeoutMs: 30_000, what: "pod-a running" });
    pods.b = await waitFor(() => running("pod-b"), { timeoutMs: 30_000, what: "pod-b running" });
    const cidr = (await c.store.get<Node>("nodes", undefined, node)).spec!.podCIDR!;
    for (const p of [pods.a, pods.b]) {
      expect(inCidr(p.status!.podIP!, cidr), `${p.status!.podIP} in ${cidr}`).to.equal(true);
      expect(p.status!.podIPs).to.deep.equal([{ ip: p.status!.podIP }]);
      expect(p.status!.hostIP).to.equal("10.199.0.1");
    }
    expect(pods.a.status!.podIP).to.not.equal(pods.b.status!.podIP);
    // The container's process lives in the pod's namespace.
    const ns = podNetnsName(pods.b.metadata.uid!);
    const pids = sh(`ip netns pids ${ns}`).trim().split("\n").filter(Boolean);
    expect(pids.length).to.be.greaterThan(0);
    expect(await lab.fetch(podNetnsName(pods.a.metadata.uid!), `http://${pods.b.status!.podIP}:8080/`)).to.equal("hello from pod-b\n");
  });

  it("writes the pod's resolv.conf for ClusterFirst: the cluster DNS and the namespace's search list", () => {
    const ns = podNetnsName(pods.a.metadata.uid!);
    const text = sh(`ip netns exec ${ns} cat /etc/resolv.conf`);
    expect(text).to.include("nameserver 10.96.0.10").and.include("search default.svc.cluster.local svc.cluster.local cluster.local").and.include("options ndots:5");
  });

  it("reaches a Service by ClusterIP and by its DNS names, with the rules in the kernel", async () => {
    const svc = await c.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web-b", namespace: "default" },
      spec: { selector: { app: "b" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] },
    });
    expect(inCidr(svc.spec.clusterIP!, "10.96.0.0/12")).to.equal(true);
    const from = podNetnsName(pods.a.metadata.uid!);
    await waitFor(async () => (await lab.fetch(from, `http://${svc.spec.clusterIP}/`)) === "hello from pod-b\n", { timeoutMs: 20_000, what: "pod-a → ClusterIP" });
    await waitFor(async () => (await lab.fetch(from, "http://web-b.default.svc.cluster.local/")) === "hello from pod-b\n", { timeoutMs: 20_000, what: "pod-a → web-b.default.svc.cluster.local" });
    expect(await lab.fetch(from, "http://web-b/")).to.equal("hello from pod-b\n");
    expect(lab.sh(hostA, "iptables-save -t nat")).to.include("FLT-SERVICES").and.include(svc.spec.clusterIP!);
  });

  it("removes the pod's namespace, veth and address when the pod is deleted", async () => {
    const uid = pods.b.metadata.uid!;
    await c.store.delete("pods", "default", "pod-b", { gracePeriodSeconds: 1 });
    await waitFor(async () => !(await c.store.get<Pod>("pods", "default", "pod-b").catch(() => undefined)), { timeoutMs: 30_000, what: "pod-b gone" });
    await waitFor(() => !sh("ip netns list").includes(podNetnsName(uid)), { timeoutMs: 10_000, what: "pod-b's namespace gone" });
    expect(existsSync(`/etc/netns/${podNetnsName(uid)}`)).to.equal(false);
    const ipam = join(dir, "network", node, "ipam");
    const held = readdirSync(ipam).flatMap((d) => readdirSync(join(ipam, d)));
    expect(held).to.have.length(1); // pod-a's
    expect(lab.sh(hostA, "ip -o link show").match(/vflt\w+/g)).to.have.length(1); // pod-a's
  });

  it("leaves no namespace, veth, route or FLT chain once the node stops", async () => {
    const uid = pods.a.metadata.uid!;
    await nodeHost!.stop();
    nodeHost = undefined;
    expect(sh("ip netns list")).to.not.include(podNetnsName(uid));
    expect(existsSync(`/etc/netns/${podNetnsName(uid)}`)).to.equal(false);
    expect(lab.sh(hostA, "ip -o link show")).to.not.match(/vflt|flt0/);
    expect(lab.sh(hostA, "iptables-save")).to.not.include("FLT-");
    expect(lab.sh(hostA, "ip route show proto 202")).to.equal("");
  });
});
