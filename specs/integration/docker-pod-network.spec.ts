/**
 * Pod networking on the real Docker engine (this machine's dockerd, so the node side lives in the
 * spec's own network namespace): the kubelet creates a bridge network for its node with the node's
 * podCIDR (explicit subnet and gateway), puts every pod sandbox on it and writes each pod's
 * resolv.conf per dnsPolicy; the kernel-mode proxy and the dns actor (on the network's gateway,
 * behind the kube-dns ClusterIP) serve the docker pods. Addresses are the spec's own:
 * 10.244.192.0/18 for pods, 10.96.0.0/12 for Services.
 */
import { expect } from "chai";
import Docker from "dockerode";
import type { Node, Pod, Service, Container } from "../../bus/resources.ts";
import type { TestCluster } from "../harness/cluster.ts";
import type { Host } from "../../runtime/host.ts";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCluster, waitFor } from "../harness/cluster.ts";
import { canUseNetns } from "../harness/netns.ts";
import { requireDocker, unavailable } from "../harness/optional.ts";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../harness/images.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { proxy } from "../../actors/proxy/index.ts";
import { dns } from "../../actors/dns/index.ts";
import { nodeIpamController } from "../../actors/node-ipam-controller/index.ts";
import { endpointsController } from "../../actors/endpoints-controller/index.ts";
import { Label } from "../../actors/kubelet/engines/docker.ts";
import { dockerNetworkName, dockerBridgeName } from "../../actors/kubelet/engines/docker-network.ts";
import { inCidr, nthAddress } from "../../bus/cidr.ts";

const CLUSTER_CIDR = "10.244.192.0/18";

describe("pod networking on the Docker engine (per-node bridge network)", function () {
  this.timeout(180_000);
  const docker = new Docker();
  let c: TestCluster | undefined;
  let nodeHost: Host | undefined;
  let dnsHost: Host | undefined;
  let dir: string | undefined;
  let gateway = "";
  const node = `dpn-${Math.random().toString(36).slice(2, 7)}`;
  const pods: Record<string, Pod> = {};

  const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  const pod = (name: string, app: string, script: string, extra: Partial<Pod["spec"]> = {}): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "main", image: BUSYBOX_IMAGE, imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script], ports: [{ containerPort: 8080 }] } as Container],
      ...extra,
    },
  });
  const running = async (name: string) => {
    const p = await c!.store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };
  /** Runs `cmd` in the pod's container (the way `kubectl exec` would). */
  const inPod = async (name: string, cmd: string[]): Promise<{ code: number; out: string }> => {
    const [ctr] = await docker.listContainers({ filters: JSON.stringify({ label: [`${Label.node}=${node}`, `${Label.podName}=${name}`, `${Label.role}=container`] }) });
    if (!ctr) return { code: -1, out: "no container" };
    // Asynchronous: the dns actor answering the pod runs in this process.
    try {
      return { code: 0, out: (await promisify(execFile)("docker", ["exec", ctr.Id, ...cmd], { encoding: "utf8", timeout: 20_000 })).stdout };
    } catch (e) {
      return { code: (e as { code?: number }).code ?? 1, out: String((e as { stderr?: string }).stderr ?? e) };
    }
  };
  const fetchFrom = async (name: string, url: string) => {
    const r = await inPod(name, ["wget", "-q", "-O-", url]);
    return r.code === 0 ? r.out : undefined;
  };

  before(async function () {
    await requireDocker(this);
    if (!canUseNetns()) unavailable(this, "root with iptables", "pod networking programs the kernel");
    await ensureBusyboxImage();
    dir = mkdtempSync(join(tmpdir(), "flotilla-dpn-"));
    c = await startTestCluster({
      storeOpts: { serviceCidr: "10.96.0.0/12" },
      actors: [
        { def: nodeIpamController, opts: { clusterCIDR: CLUSTER_CIDR } },
        { def: endpointsController, opts: {} },
      ],
    });
    nodeHost = await c.startActors([
      { def: kubelet, opts: { nodeName: node, engine: "docker", network: "pod", clusterCIDR: CLUSTER_CIDR, dataDir: dir, stopPodsOnExit: true, backoffBaseMs: 200 } },
      { def: proxy, opts: { nodeName: node, mode: "kernel", clusterCIDR: CLUSTER_CIDR } },
    ]);
  });
  after(async () => {
    await dnsHost?.stop().catch(() => undefined);
    await nodeHost?.stop().catch(() => undefined);
    await c?.stop();
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${Label.node}=${node}`] }) }).catch(() => []);
    await Promise.all(left.map((x) => docker.getContainer(x.Id).remove({ force: true }).catch(() => undefined)));
    if (c) await docker.getNetwork(dockerNetworkName(c.cluster, node)).remove().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("creates a bridge network for the node with its podCIDR, an explicit gateway and no Docker masquerade", async () => {
    const n = await waitFor(async () => {
      const n = await c!.store.get<Node>("nodes", undefined, node).catch(() => undefined);
      return n?.metadata.labels?.["flotilla.io/network"] === "pod" && n.spec?.podCIDR && n.status?.conditions?.find((x) => x.type === "NetworkUnavailable")?.message?.includes(n.spec.podCIDR) ? n : undefined;
    }, { timeoutMs: 30_000, what: "the node's podCIDR and network condition" });
    const cidr = n.spec!.podCIDR!;
    expect(inCidr(cidr.split("/")[0]!, CLUSTER_CIDR)).to.equal(true);
    const net = await docker.getNetwork(dockerNetworkName(c!.cluster, node)).inspect();
    gateway = nthAddress(cidr, 1);
    expect(net.IPAM?.Config).to.deep.equal([{ Subnet: cidr, Gateway: gateway }]);
    expect(net.Options?.["com.docker.network.bridge.enable_ip_masquerade"]).to.equal("false");
    dnsHost = await c!.startActors([{ def: dns, opts: { listen: `${gateway}:0`, clusterIP: "10.96.0.10", upstreams: [] } }]);
  });

  it("puts pod sandboxes on it and reports their addresses in the podCIDR", async () => {
    await c!.store.create("pods", "default", pod("dweb", "dweb", "mkdir -p /www && echo hello from $HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www"));
    await c!.store.create("pods", "default", pod("dclient", "dclient", "exec sleep 3600"));
    await c!.store.create("pods", "default", pod("dnone", "x", "exec sleep 3600", { dnsPolicy: "None", dnsConfig: { nameservers: ["10.96.0.10"], searches: ["example.internal"], options: [{ name: "ndots", value: "2" }] } }));
    await c!.store.create("pods", "default", pod("ddefault", "x", "exec sleep 3600", { dnsPolicy: "Default" }));
    for (const name of ["dweb", "dclient", "dnone", "ddefault"]) pods[name] = await waitFor(() => running(name), { timeoutMs: 60_000, what: `${name} running` });
    const cidr = (await c!.store.get<Node>("nodes", undefined, node)).spec!.podCIDR!;
    const ips = Object.values(pods).map((p) => p.status!.podIP!);
    for (const p of Object.values(pods)) {
      expect(inCidr(p.status!.podIP!, cidr), `${p.status!.podIP} in ${cidr}`).to.equal(true);
      expect(p.status!.podIPs).to.deep.equal([{ ip: p.status!.podIP }]);
      expect(p.status!.hostIP).to.equal("127.0.0.1");
    }
    expect(new Set(ips).size).to.equal(ips.length);
    // Straight to the pod's address from another pod, and from the node.
    expect(await fetchFrom("dclient", `http://${pods.dweb!.status!.podIP}:8080/`)).to.equal("hello from dweb\n");
  });

  it("writes each pod's resolv.conf per dnsPolicy (ClusterFirst, None with dnsConfig, Default)", async () => {
    const first = (await inPod("dclient", ["cat", "/etc/resolv.conf"])).out;
    expect(first).to.include("nameserver 10.96.0.10").and.include("search default.svc.cluster.local svc.cluster.local cluster.local").and.include("options ndots:5");
    expect(first).to.not.include("127.0.0.11");
    const none = (await inPod("dnone", ["cat", "/etc/resolv.conf"])).out;
    expect(none).to.equal("nameserver 10.96.0.10\nsearch example.internal\noptions ndots:2\n");
    const def = (await inPod("ddefault", ["cat", "/etc/resolv.conf"])).out;
    expect(def).to.not.include("10.96.0.10");
    const hostNs = sh("grep ^nameserver /etc/resolv.conf || true").trim().split("\n").filter(Boolean);
    for (const line of hostNs) expect(def).to.include(line);
  });

  it("resolves a Service by name from a docker pod and reaches its pod through the kernel rules", async () => {
    const svc = await c!.store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "dweb", namespace: "default" },
      spec: { selector: { app: "dweb" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] },
    });
    expect(inCidr(svc.spec.clusterIP!, "10.96.0.0/12")).to.equal(true);
    await waitFor(async () => (await fetchFrom("dclient", `http://${svc.spec.clusterIP}/`)) === "hello from dweb\n", { timeoutMs: 30_000, what: "dclient → ClusterIP" });
    await waitFor(async () => (await fetchFrom("dclient", "http://dweb/")) === "hello from dweb\n", { timeoutMs: 30_000, what: "dclient → http://dweb/" });
    expect(await fetchFrom("dclient", "http://dweb.default.svc.cluster.local/")).to.equal("hello from dweb\n");
    const lookup = await inPod("dclient", ["nslookup", "dweb.default.svc.cluster.local"]);
    expect(lookup.out).to.include(svc.spec.clusterIP!);
    expect(sh("iptables-save -t nat")).to.include(svc.spec.clusterIP!);
  });

  it("removes the node's network, its bridge and its routes once the node stops", async () => {
    const name = dockerNetworkName(c!.cluster, node);
    await nodeHost!.stop();
    nodeHost = undefined;
    expect(await docker.getNetwork(name).inspect().catch(() => undefined)).to.equal(undefined);
    expect(sh("ip -o link show")).to.not.include(dockerBridgeName(name));
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${Label.node}=${node}`] }) });
    expect(left).to.have.length(0);
    expect(sh("iptables-save -t nat")).to.not.include(pods.dweb!.status!.podIP!.split(".").slice(0, 3).join(".") + ".0/24 ! -d");
  });
});
