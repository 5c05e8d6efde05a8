/**
 * Two test hosts on different subnets — A on 10.250.1.0/24, B on 10.250.2.0/24 — joined by a router
 * namespace this spec creates (forwarding on, no route to any pod CIDR), each running
 * `flotilla node join --network pod` (process engine) inside its namespace. A pod on A reaches a
 * pod on B by its pod IP over VXLAN: the request arrives from the client pod's own address and
 * the router only ever forwards encapsulated packets. When the nodes stop, the VXLAN device and
 * the routes go with them.
 */
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Node, Pod } from "../../bus/resources.ts";
import type { NatsServer } from "../../runtime/nats-server.ts";
import type { Host } from "../../runtime/host.ts";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../harness/cluster.ts";
import { NetnsLab, canUseNetns } from "../harness/netns.ts";
import { unavailable } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { startHost, connectNats } from "../../runtime/host.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { storeActor } from "../../actors/store/index.ts";
import { nodeIpamController } from "../../actors/node-ipam-controller/index.ts";
import { podNetnsName } from "../../actors/kubelet/pod-network.ts";

describe("pod networking across a router (VXLAN, two nodes joined)", function () {
  this.timeout(240_000);
  const BIN = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "flotilla.mjs");
  let lab: NetnsLab;
  let router: string;
  let server: NatsServer | undefined;
  let plane: Host | undefined;
  let nc: NatsConnection | undefined;
  let store: StoreClient;
  let dir: string;
  const cluster = runCluster("vx");
  const hosts = [
    { n: "a", ip: "10.250.1.2", gw: "10.250.1.1", ns: "", node: "", proc: undefined as ChildProcess | undefined },
    { n: "b", ip: "10.250.2.2", gw: "10.250.2.1", ns: "", node: "", proc: undefined as ChildProcess | undefined },
  ];
  const [A, B] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  const uids: string[] = [];
  const names: string[] = [];

  const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });
  const exited = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r())));
  const counter = (table: string, chain: string, tag: string) => {
    const line = lab.sh(router, `iptables -w 5 -t ${table} -L ${chain} -v -x -n`).split("\n").find((l) => l.includes(`/* ${tag} */`));
    return Number(line?.trim().split(/\s+/)[0] ?? NaN);
  };
  const pod = (name: string, node: string, command: string[]): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "node", command }] },
  });
  const running = async (name: string) => {
    const p = await store.get<Pod>("pods", "default", name).catch(() => undefined);
    return p?.status?.phase === "Running" && p.status.podIP ? p : undefined;
  };
  const stopNodes = async () => {
    for (const h of hosts) h.proc?.kill("SIGTERM");
    await Promise.race([Promise.all(hosts.map((h) => (h.proc ? exited(h.proc) : undefined))), new Promise((r) => setTimeout(r, 20_000))]);
    for (const h of hosts) if (h.proc && h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill("SIGKILL");
  };

  before(async function () {
    if (!canUseNetns()) unavailable(this, "network namespaces", "run as root with iproute2 and iptables");
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-vxlan-"));
    // The router: bridge lan0 for 10.250.1.0/24 (host A, and this spec's uplink at .254), link rb to host B.
    router = lab.lan("r");
    lab.sh(router, "ip addr add 10.250.1.1/24 dev lan0 && sysctl -qw net.ipv4.ip_forward=1");
    lab.lanUplink(router, "10.250.1.254/24");
    sh("ip route replace 10.250.2.0/24 via 10.250.1.1");
    A.ns = lab.lanHost(router, "a", "10.250.1.2/24");
    B.ns = lab.netns("b");
    const v = `v${lab.prefix.slice(3)}rb`;
    execFileSync("ip", ["link", "add", `${v}a`, "type", "veth", "peer", "name", `${v}b`]);
    execFileSync("ip", ["link", "set", `${v}a`, "netns", router]);
    execFileSync("ip", ["link", "set", `${v}b`, "netns", B.ns]);
    lab.sh(router, `ip link set ${v}a name rb && ip addr add 10.250.2.1/24 dev rb && ip link set rb up`);
    lab.sh(B.ns, `ip link set ${v}b name eth0 && ip addr add 10.250.2.2/24 dev eth0 && ip link set eth0 up`);
    for (const h of hosts) lab.sh(h.ns, `ip route add default via ${h.gw}`);
    for (const [table, chain, match, tag] of [
      ["raw", "PREROUTING", "-i rb -s 10.244.0.0/16", "pods-from-b"],
      ["mangle", "POSTROUTING", "-o rb -d 10.244.0.0/16", "pods-to-b"],
      ["mangle", "POSTROUTING", "-o rb -p udp --dport 4789", "vxlan-to-b"],
    ] as const) lab.sh(router, `iptables -w 5 -t ${table} -A ${chain} ${match} -m comment --comment ${tag}`);

    server = await startNatsServer({ port: 0, host: "10.250.1.254" });
    plane = await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor, opts: { serviceCidr: "10.96.0.0/12" } }, { def: nodeIpamController, opts: {} }] });
    nc = await connectNats(server.url, "spec-client");
    store = new StoreClient(nc, cluster);
    for (const h of hosts) {
      h.node = `${lab.prefix}-${h.n}`;
      const log = openSync(join(process.env.KEEP_LOGS ?? dir, `${h.n}.log`), "a");
      const args = ["node", "join", "--nats", server.url, "--cluster", cluster, "--name", h.node, "--address", h.ip, "--network", "pod", "--data-dir", join(dir, h.n)];
      h.proc = spawn("nsenter", [`--net=/run/netns/${h.ns}`, process.execPath, BIN, ...args], { env: { ...process.env, FLOTILLA_LOG: "warn" }, stdio: ["ignore", log, log] });
      closeSync(log);
    }
  });
  after(async () => {
    if (nc) for (const n of names) await store.delete("pods", "default", n, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await stopNodes();
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

  it("routes each node's podCIDR to the other through the VXLAN device", async () => {
    const nodes = await waitFor(async () => {
      const ns = await Promise.all(hosts.map((h) => store.get<Node>("nodes", undefined, h.node).catch(() => undefined)));
      const ready = (n: Node | undefined) => !!n?.spec?.podCIDR && !!n.status?.conditions?.some((c) => c.type === "NetworkUnavailable" && c.reason === "PodNetworkReady");
      return ns.every(ready) ? (ns as Node[]) : undefined;
    }, { timeoutMs: 180_000, what: "two nodes with a pod network" });
    const [cidrA, cidrB] = nodes.map((n) => n.spec!.podCIDR!);
    await waitFor(() => lab.sh(A.ns, "ip route show proto 202").includes(`${cidrB} via ${cidrB!.split("/")[0]} dev flotilla.vxlan onlink`), { timeoutMs: 60_000, intervalMs: 500, what: "host a's VXLAN route to b" });
    await waitFor(() => lab.sh(B.ns, "ip route show proto 202").includes(`${cidrA} via ${cidrA!.split("/")[0]} dev flotilla.vxlan onlink`), { timeoutMs: 60_000, intervalMs: 500, what: "host b's VXLAN route to a" });
    expect(lab.sh(A.ns, "bridge fdb show dev flotilla.vxlan")).to.include(`dst ${B.ip}`);
  });

  it("lets a pod on host A reach a pod on host B by its pod IP, with no address translation and only encapsulated packets on the router", async () => {
    const echo = [process.execPath, "-e", 'require("node:http").createServer((q, s) => s.end("from " + q.socket.remoteAddress)).listen(8080, "0.0.0.0")'];
    for (const [name, h] of [["client", A], ["echo", B]] as const) {
      const p = await store.create<Pod>("pods", "default", pod(name, h.node, name === "echo" ? echo : ["sleep", "3600"]));
      uids.push(p.metadata.uid!);
      names.push(name);
    }
    const client = await waitFor(() => running("client"), { timeoutMs: 60_000, what: "the client pod running" });
    const server = await waitFor(() => running("echo"), { timeoutMs: 60_000, what: "the echo pod running" });
    expect(server.status!.hostIP).to.equal(B.ip);
    const body = await waitFor(() => lab.fetch(podNetnsName(client.metadata.uid!), `http://${server.status!.podIP}:8080/`), { timeoutMs: 30_000, what: "the echo pod on host b from the client on host a" });
    expect(body).to.equal(`from ${client.status!.podIP}`);
    expect(counter("raw", "PREROUTING", "pods-from-b"), "pod addresses in the clear from b").to.equal(0);
    expect(counter("mangle", "POSTROUTING", "pods-to-b"), "pod addresses in the clear to b").to.equal(0);
    expect(counter("mangle", "POSTROUTING", "vxlan-to-b")).to.be.greaterThan(0);
    expect(lab.sh(router, "ip route")).to.not.include("10.244.");
  });

  it("removes the VXLAN device and the routes when the nodes stop", async () => {
    for (const n of names) await store.delete("pods", "default", n, { gracePeriodSeconds: 0 }).catch(() => undefined);
    await waitFor(async () => (await Promise.all(names.map((n) => store.get("pods", "default", n).then(() => 1, () => 0)))).every((x) => x === 0), { timeoutMs: 30_000, what: "the pods gone" });
    // The kubelets have released the pods' addresses once their namespaces are gone.
    await waitFor(() => uids.every((u) => !sh("ip netns list").includes(podNetnsName(u))), { timeoutMs: 30_000, what: "the pods' namespaces gone" });
    await stopNodes();
    for (const h of hosts) {
      expect(lab.sh(h.ns, "ip route show proto 202"), h.n).to.equal("");
      expect(lab.sh(h.ns, "ip -o link show"), h.n).to.not.include("flotilla.vxlan");
    }
  });
});
