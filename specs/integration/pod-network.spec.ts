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
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
import type { ChildProcess } from "node:child_process";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Endpoints } from "../../bus/resources.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { spawn, execFile } from "node:child_process";
import { promisify } from "node:util";
import { openSync, closeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { startHost, connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { storeActor } from "../../actors/store/index.ts";
import { nodeController } from "../../actors/node-controller/index.ts";
import { httpText } from "../../cli/example.ts";
import { runCluster } from "../harness/run.ts";

describe("pod networking (process engine, one node in a test host)", function () {
  this.timeout(120_000);
  let c: TestCluster;
  let lab: NetnsLab;
  let hostA: string;
  let nodeHost: Host | undefined;
  let dnsProc: ChildProcess | undefined;
  let dir: string;
  const BIN = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "flotilla.mjs");
  const node = `pn-${Math.random().toString(36).slice(2, 7)}`;
  const pods: Record<string, Pod> = {};

  const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  const running = async (name: string) => {
    const p = await c.store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };
  const podSpec = (name: string, app: string): Pod => {
    const root = join(dir, "www", name);
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
    // The pods' web roots are read by the pods' unprivileged user: outside the kubelet's data dir.
    chmodSync(dir, 0o755);
    hostA = lab.netns("a");
    lab.uplink(hostA, "10.199.0.1/24", "10.199.0.254/24");
    c = await startTestCluster({
      storeOpts: { serviceCidr: "10.96.0.0/12" },
      actors: [
        { def: nodeIpamController, opts: { clusterCIDR: "10.244.0.0/16" } },
        { def: endpointsController, opts: {} },
      ],
    });
    // The dns actor in a process of its own, as `flotilla actor dns` runs it: its answers do not
    // wait for this process's other work.
    dnsProc = spawn(process.execPath, [BIN, "actor", "dns", "--nats", c.url, "--cluster", c.cluster, "--opt", "listen=10.199.0.254:0", "--opt", "clusterIP=10.96.0.10", "--opt", "upstreams=[]"], { stdio: "ignore", env: { ...process.env, FLOTILLA_LOG: "error" } });
    nodeHost = await c.startActors([
      { def: kubelet, opts: { nodeName: node, engine: "process", network: "pod", nodeNetns: hostA, hostIP: "10.199.0.1", dataDir: join(dir, "data") } },
      { def: proxy, opts: { nodeName: node, mode: "kernel", clusterCIDR: "10.244.0.0/16", netns: hostA, nodeAddress: "10.199.0.1" } },
    ]);
  });
  after(async () => {
    await nodeHost?.stop().catch(() => undefined);
    if (dnsProc && dnsProc.exitCode === null && dnsProc.signalCode === null) {
      const gone = new Promise((r) => dnsProc!.once("exit", r));
      dnsProc.kill("SIGTERM");
      await gone;
    }
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

  it("lets a pod's unprivileged user serve on port 80 inside its own namespace, as Docker and containerd allow", async () => {
    const low = podSpec("pod-low", "low");
    low.spec.containers[0]!.command = ["busybox", "httpd", "-f", "-p", "80", "-h", join(dir, "www", "pod-low")];
    low.spec.containers[0]!.ports = [{ containerPort: 80 }];
    await c.store.create("pods", "default", low);
    const p = await waitFor(() => running("pod-low"), { timeoutMs: 30_000, what: "pod-low running" });
    const body = await waitFor(async () => (await lab.fetch(podNetnsName(pods.a.metadata.uid!), `http://${p.status!.podIP}:80/`)) || undefined, { timeoutMs: 10_000, what: "pod-low's answer" });
    expect(body).to.equal("hello from pod-low\n");
    await c.store.delete("pods", "default", "pod-low", { gracePeriodSeconds: 1 });
    await waitFor(async () => !(await c.store.get<Pod>("pods", "default", "pod-low").catch(() => undefined)), { timeoutMs: 30_000, what: "pod-low gone" });
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

  it("answers parallel A and AAAA lookups from many pods, each in its namespace, none slower than 1 s (kubernetes#56903)", async function () {
    this.timeout(180_000);
    const names = Array.from({ length: 8 }, (_, i) => `lk-${i}`);
    for (const name of names) {
      await c.store.create<Pod>("pods", "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default", labels: { app: "lookups" } },
        spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "busybox", command: ["busybox", "sleep", "3600"] }] },
      });
    }
    const lk: Pod[] = [];
    try {
      lk.push(...(await Promise.all(names.map((n) => waitFor(() => running(n), { timeoutMs: 60_000, what: `${n} running` })))));
      await lookups(lk);
    } finally {
      for (const name of names) await c.store.delete("pods", "default", name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await waitFor(async () => (await c.store.list<Pod>("pods", "default")).items.every((p) => !names.includes(p.metadata.name!)), { timeoutMs: 60_000, what: "the lookup pods gone" });
      await waitFor(() => lk.every((p) => !sh("ip netns list").includes(podNetnsName(p.metadata.uid!))), { timeoutMs: 30_000, what: "their namespaces gone" });
    }
  });

  const lookups = async (lk: Pod[]) => {
    const webB = await c.store.get<Service>("services", "default", "web-b");
    // Each pod makes 10 rounds of 10 lookups at once, each an A and an AAAA query from one socket
    // back to back (as glibc's getaddrinfo does), through the kube-dns ClusterIP and the kernel's
    // DNAT; all pods start their rounds at the same moment, once every client has started.
    const fixture = fileURLToPath(new URL("../fixtures/parallel-lookups.mjs", import.meta.url));
    const startAt = String(Date.now() + 5000);
    const run = (ns: string) =>
      promisify(execFile)("ip", ["netns", "exec", ns, process.execPath, fixture, "10.96.0.10", "53", "10", "10", "3000", startAt, "web-b.default.svc.cluster.local", "kube-dns.kube-system.svc.cluster.local"], { encoding: "utf8", timeout: 60_000 });
    const results = (await Promise.all(lk.map((p) => run(podNetnsName(p.metadata.uid!))))).map((r) => JSON.parse(r.stdout) as { answers: number; slowestMs: number; badCount: number; bad: unknown[]; aAnswers: string[] });
    for (const r of results) {
      expect(r.badCount, JSON.stringify(r.bad)).to.equal(0);
      expect(r.answers).to.equal(200);
      expect(r.aAnswers).to.include.members([webB.spec.clusterIP!, "10.96.0.10"]);
      expect(r.slowestMs, `the slowest answer (ms); by round: ${JSON.stringify(results.map((x) => (x as { slowestByRound?: number[] }).slowestByRound))}`).to.be.below(1000);
    }
  };

  it("removes the pod's namespace, veth and address when the pod is deleted", async () => {
    const uid = pods.b.metadata.uid!;
    await c.store.delete("pods", "default", "pod-b", { gracePeriodSeconds: 1 });
    await waitFor(async () => !(await c.store.get<Pod>("pods", "default", "pod-b").catch(() => undefined)), { timeoutMs: 30_000, what: "pod-b gone" });
    await waitFor(() => !sh("ip netns list").includes(podNetnsName(uid)), { timeoutMs: 10_000, what: "pod-b's namespace gone" });
    expect(existsSync(`/etc/netns/${podNetnsName(uid)}`)).to.equal(false);
    const ipam = join(dir, "data", "network", node, "ipam");
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

/**
 * Three test hosts on a LAN (network namespaces this spec creates: 10.199.0.1–3, and the spec's own
 * namespace at 10.199.0.254 where NATS, the control plane and the dns actor run). Each host runs
 * `flotilla node join --network pod` as a process inside its namespace (nsenter), so a host whose
 * link goes down really loses the cluster.
 */
describe("pod networking across three test hosts (process engine)", function () {
  this.timeout(420_000);
  const BIN = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "flotilla.mjs");
  let lab: NetnsLab;
  let server: NatsServer | undefined;
  let plane: Host | undefined;
  let nc: NatsConnection | undefined;
  let store: StoreClient;
  let dir: string;
  const cluster = runCluster("pn3");
  const hosts = (["a", "b", "c"] as const).map((n, i) => ({ n, ip: `10.199.0.${i + 1}`, ns: "", node: "", proc: undefined as ChildProcess | undefined }));
  const [A, B, C] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
  const uids: string[] = [];

  const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  const pod = (name: string, app: string, node: string): Pod => {
    const root = join(dir, "www", name);
    execFileSync("mkdir", ["-p", root]);
    writeFileSync(join(root, "index.html"), `hello from ${name}\n`);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { app } },
      spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "web", image: "busybox", command: ["busybox", "httpd", "-f", "-p", "8080", "-h", root], ports: [{ containerPort: 8080 }] }] },
    };
  };
  const runningPod = async (name: string) => {
    const p = await store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };
  const endpointIPs = async (name: string) =>
    ((await store.get<Endpoints>("endpoints", "default", name).catch(() => undefined))?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r())));
  const pods: Record<string, Pod> = {};

  before(async function () {
    if (!canUseNetns()) unavailable(this, "network namespaces", "run as root with iproute2 and iptables");
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-podnet3-"));
    chmodSync(dir, 0o755);
    const lan = lab.lan("lan");
    lab.lanUplink(lan, "10.199.0.254/24");
    for (const h of hosts) {
      h.ns = lab.lanHost(lan, h.n, `${h.ip}/24`);
      h.node = `${lab.prefix}-${h.n}`;
    }
    server = await startNatsServer({ port: 0, host: "10.199.0.254" });
    plane = await startHost({
      natsUrl: server.url,
      cluster,
      leaseDurationMs: 2000,
      actors: [
        { def: storeActor, opts: { serviceCidr: "10.96.0.0/12" } },
        { def: nodeIpamController, opts: {} },
        { def: endpointsController, opts: {} },
        { def: nodeController, opts: { sysNatsUrl: server.sysUrl, gracePeriodSeconds: 6 } },
        { def: dns, opts: { listen: "10.199.0.254:0", clusterIP: "10.96.0.10", upstreams: [] } },
      ],
    });
    nc = await connectNats(server.url, "spec-client");
    store = new StoreClient(nc, cluster);
    for (const h of hosts) {
      const log = openSync(join(process.env.KEEP_LOGS ?? dir, `${h.n}.log`), "a");
      const args = ["node", "join", "--nats", server.url, "--cluster", cluster, "--name", h.node, "--address", h.ip, "--network", "pod", "--data-dir", join(dir, h.n)];
      h.proc = spawn("nsenter", [`--net=/run/netns/${h.ns}`, process.execPath, BIN, ...args], { env: { ...process.env, FLOTILLA_LOG: "warn" }, stdio: ["ignore", log, log] });
      closeSync(log);
    }
  });
  after(async () => {
    if (lab && B.ns) lab.link(B.ns, true);
    if (nc) {
      for (const name of Object.keys(pods)) await store.delete("pods", "default", name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await waitFor(async () => (await Promise.all(Object.keys(pods).map((n) => store.get("pods", "default", n).then(() => 1, () => 0)))).every((x) => x === 0), { timeoutMs: 30_000 }).catch(() => undefined);
    }
    for (const h of hosts) h.proc?.kill("SIGTERM");
    await Promise.race([Promise.all(hosts.map((h) => (h.proc ? exited(h.proc) : undefined))), new Promise((r) => setTimeout(r, 20_000))]);
    for (const h of hosts) if (h.proc && h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill("SIGKILL");
    // Whatever a killed node left: its pods' namespaces and their processes.
    for (const uid of uids) {
      const ns = podNetnsName(uid);
      try {
        for (const pid of sh(`ip netns pids ${ns} 2>/dev/null || true`).split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        /* gone */
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    await plane?.stop();
    await nc?.close();
    await server?.stop();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("gives every host a podCIDR and host-gw routes to the other two", async () => {
    const nodes = await waitFor(async () => {
      const ns = await Promise.all(hosts.map((h) => store.get<Node>("nodes", undefined, h.node).catch(() => undefined)));
      const ready = (n: Node | undefined) => !!n?.spec?.podCIDR && !!n.status?.conditions?.some((c) => c.type === "NetworkUnavailable" && c.reason === "PodNetworkReady" && c.message?.includes(n.spec!.podCIDR!));
      return ns.every(ready) ? (ns as Node[]) : undefined;
      // Three node processes start (and compile) at once: slow on a busy 2-core machine.
    }, { timeoutMs: 180_000, what: "three nodes with a pod network" });
    const cidrs = nodes.map((n) => n.spec!.podCIDR!);
    expect(new Set(cidrs).size).to.equal(3);
    let routes = "";
    await waitFor(() => {
      routes = lab.sh(A.ns, "ip route show proto 202");
      return routes.includes(`${cidrs[1]} via ${B.ip}`) && routes.includes(`${cidrs[2]} via ${C.ip}`);
    }, { timeoutMs: 60_000, intervalMs: 500, what: "host a's routes to b and c" }).catch((e: Error) => {
      throw new Error(`${e.message}; podCIDRs ${cidrs.join(" ")}; host a's routes: ${routes || "(none)"}`);
    });
  });

  it("lets a pod on host A reach, by DNS name, a Service whose pods are on B and C, answered by both", async () => {
    for (const [name, app, h] of [["client", "client", A], ["web-b", "web", B], ["web-c", "web", C], ["local-a", "local", A]] as const) {
      const p = await store.create<Pod>("pods", "default", pod(name, app, h.node));
      uids.push(p.metadata.uid!);
      pods[name] = p;
    }
    for (const name of Object.keys(pods)) pods[name] = await waitFor(() => runningPod(name), { timeoutMs: 60_000, what: `${name} running` });
    for (const [name, h] of [["client", A], ["web-b", B], ["web-c", C]] as const) expect(pods[name]!.status!.hostIP).to.equal(h.ip);
    await store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] } });
    await waitFor(async () => (await endpointIPs("web")).length === 2, { timeoutMs: 20_000, what: "both web pods in the endpoints" });
    const from = podNetnsName(pods.client!.metadata.uid!);
    const seen = new Set<string>();
    await waitFor(async () => {
      const body = await lab.fetch(from, "http://web.default.svc.cluster.local/");
      if (body) seen.add(body.trim());
      return seen.size === 2;
    }, { timeoutMs: 30_000, what: "answers from the pods on b and c" });
    expect([...seen].sort()).to.deep.equal(["hello from web-b", "hello from web-c"]);
  });

  it("reaches a pod on host A through a NodePort on host C's address", async () => {
    const svc = await store.create<Service>("services", "default", { apiVersion: "v1", kind: "Service", metadata: { name: "local", namespace: "default" }, spec: { type: "NodePort", selector: { app: "local" }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] } });
    const nodePort = svc.spec.ports![0]!.nodePort!;
    await waitFor(async () => (await endpointIPs("local")).length === 1, { timeoutMs: 20_000, what: "local-a in the endpoints" });
    const body = await waitFor(async () => (await httpText(`http://${C.ip}:${nodePort}/`, 2000).catch(() => undefined))?.body, { timeoutMs: 20_000, what: "the NodePort on host c" });
    expect(body).to.equal("hello from local-a\n");
  });

  it("drops host B's pods from the endpoints when its link goes down, and traffic goes on to C", async () => {
    lab.link(B.ns, false);
    await waitFor(async () => JSON.stringify(await endpointIPs("web")) === JSON.stringify([pods["web-c"]!.status!.podIP]), { timeoutMs: 60_000, what: "web-b leaving the endpoints" });
    const from = podNetnsName(pods.client!.metadata.uid!);
    // Once host a's proxy has rewritten the Service's rules, every request lands on c.
    await waitFor(async () => (await lab.fetch(from, "http://web.default.svc.cluster.local/", 3000)) === "hello from web-c\n", { timeoutMs: 30_000, what: "an answer from c" });
    for (let i = 0; i < 6; i++) expect(await lab.fetch(from, "http://web.default.svc.cluster.local/")).to.equal("hello from web-c\n");
  });
});
