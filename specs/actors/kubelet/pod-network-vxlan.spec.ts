/**
 * Pod networking between nodes that do not share a link: host A and host C on 10.250.1.0/24, host B
 * on 10.250.2.0/24, joined by a router namespace this spec creates (forwarding on, no route to any
 * pod CIDR). A reaches C's pods host-gw and B's pods over VXLAN; the router only ever sees the
 * encapsulated packets.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PodNetwork, podNetnsName } from "../../../actors/kubelet/pod-network.ts";
import { NetnsLab, canUseNetns } from "../../harness/netns.ts";
import { waitFor } from "../../harness/cluster.ts";

describe("pod network across a router (VXLAN)", function () {
  this.timeout(60_000);
  let lab: NetnsLab;
  let dir: string;
  let router: string;
  const ns: Record<string, string> = {};
  const nets: Record<string, PodNetwork> = {};
  const hosts = [
    { name: "a", address: "10.250.1.2", podCIDR: "10.244.1.0/24" },
    { name: "b", address: "10.250.2.2", podCIDR: "10.244.2.0/24" },
    { name: "c", address: "10.250.1.3", podCIDR: "10.244.3.0/24" },
  ];
  const peers = hosts.map((h) => ({ podCIDR: h.podCIDR, address: h.address }));
  const run = Math.random().toString(36).slice(2, 8);
  const uid = (h: string) => `${run}-vx-${h}`;
  const counters: string[] = [];

  const packets = (chainTable: string, chain: string, tag: string): number => {
    const out = lab.sh(router, `iptables -w 5 -t ${chainTable} -L ${chain} -v -x -n`);
    const line = out.split("\n").find((l) => l.includes(`/* ${tag} */`));
    if (!line) throw new Error(`no counter ${tag}`);
    return Number(line.trim().split(/\s+/)[0]);
  };
  const vxlanStats = (host: string): { rx: number; tx: number } => {
    const j = JSON.parse(lab.sh(host, "ip -j -s link show dev flotilla.vxlan")) as { stats64: { rx: { packets: number }; tx: { packets: number } } }[];
    return { rx: j[0]!.stats64.rx.packets, tx: j[0]!.stats64.tx.packets };
  };

  before(function () {
    if (!canUseNetns()) {
      if (process.env.CI === "true") throw new Error("network namespaces are required under CI=true (run as root)");
      this.skip();
    }
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), "flotilla-vxlan-"));
    // The router: a bridge for 10.250.1.0/24 (hosts A and C) and a link to host B's 10.250.2.0/24.
    router = lab.lan("r");
    lab.sh(router, "ip addr add 10.250.1.1/24 dev lan0 && sysctl -qw net.ipv4.ip_forward=1");
    ns.a = lab.lanHost(router, "a", "10.250.1.2/24");
    ns.c = lab.lanHost(router, "c", "10.250.1.3/24");
    ns.b = lab.netns("b");
    const v = `v${lab.prefix.slice(3)}rb`;
    execFileSync("ip", ["link", "add", `${v}a`, "type", "veth", "peer", "name", `${v}b`]);
    execFileSync("ip", ["link", "set", `${v}a`, "netns", router]);
    execFileSync("ip", ["link", "set", `${v}b`, "netns", ns.b]);
    lab.sh(router, `ip link set ${v}a name rb && ip addr add 10.250.2.1/24 dev rb && ip link set rb up`);
    lab.sh(ns.b, `ip link set ${v}b name eth0 && ip addr add 10.250.2.2/24 dev eth0 && ip link set eth0 up`);
    for (const h of ["a", "c"]) lab.sh(ns[h]!, "ip route add default via 10.250.1.1");
    lab.sh(ns.b, "ip route add default via 10.250.2.1");
    // Counters on the router's link to B: pod addresses in the clear (must stay 0) and VXLAN packets.
    const rules = [
      ["raw", "PREROUTING", "-i rb -s 10.244.0.0/16", "pods-in-from-b"],
      ["raw", "PREROUTING", "-i rb -d 10.244.0.0/16", "pods-in-to-b-side"],
      ["mangle", "POSTROUTING", "-o rb -d 10.244.0.0/16", "pods-out-to-b"],
      ["mangle", "POSTROUTING", "-o rb -s 10.244.0.0/16", "pods-out-from-a-side"],
      ["mangle", "POSTROUTING", "-o rb -p udp --dport 4789", "vxlan-to-b"],
      ["raw", "PREROUTING", "-i rb -p udp --dport 4789", "vxlan-from-b"],
    ] as const;
    for (const [t, c, m, tag] of rules) {
      lab.sh(router, `iptables -w 5 -t ${t} -A ${c} ${m} -m comment --comment ${tag}`);
      counters.push(tag);
    }
    for (const h of hosts) nets[h.name] = new PodNetwork({ podCIDR: h.podCIDR, stateDir: join(dir, h.name), nodeNetns: ns[h.name]!, bridge: "flt0" });
  });
  after(async () => {
    for (const h of hosts) {
      await nets[h.name]?.teardown(uid(h.name)).catch(() => undefined);
      await nets[h.name]?.cleanupNode().catch(() => undefined);
    }
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("routes a peer on the same link host-gw and a peer behind the router through VXLAN", async () => {
    for (const h of hosts) await nets[h.name]!.ensureNode();
    const plans = Object.fromEntries(await Promise.all(hosts.map(async (h) => [h.name, await nets[h.name]!.syncRoutes(peers)] as const)));
    expect(plans.a!.routes.map((r) => `${r.podCIDR} ${r.kind}`)).to.deep.equal(["10.244.2.0/24 vxlan", "10.244.3.0/24 host-gw"]);
    expect(plans.b!.routes.map((r) => r.kind)).to.deep.equal(["vxlan", "vxlan"]);
    const routes = lab.sh(ns.a!, "ip route show proto 202");
    expect(routes).to.include("10.244.2.0/24 via 10.244.2.0 dev flotilla.vxlan onlink").and.include("10.244.3.0/24 via 10.250.1.3 dev eth0");
    expect(lab.sh(ns.a!, "bridge fdb show dev flotilla.vxlan")).to.include("0e:f1:0a:fa:02:02 dst 10.250.2.2");
    // Its own MAC follows from its address, which is what B derives for it.
    expect(lab.sh(ns.a!, "ip -o link show flotilla.vxlan")).to.include("link/ether 0e:f1:0a:fa:01:02");
    const link = lab.sh(ns.a!, "ip -d link show flotilla.vxlan");
    expect(link).to.match(/vxlan id 1 local 10\.250\.1\.2 dev eth0 .*dstport 4789/);
    // 50 bytes below the underlay's 1500: encapsulated packets fit without fragments.
    expect(link).to.match(/ mtu 1450 /);
    expect(lab.sh(router, "ip route")).to.not.include("10.244.");
  });

  it("carries pod-to-pod traffic across the router with the pods' own addresses, encapsulated", async () => {
    const ips: Record<string, string> = {};
    for (const h of hosts) ips[h.name] = (await nets[h.name]!.setup(uid(h.name))).ip;
    // Each server answers with the address the request came from.
    for (const h of ["b", "c"]) lab.spawn(podNetnsName(uid(h)), [process.execPath, "-e", 'require("node:http").createServer((q, s) => s.end(q.url === "/big" ? "x".repeat(300000) : q.socket.remoteAddress)).listen(8080, "0.0.0.0")']);
    const from = podNetnsName(uid("a"));
    let viaVxlan: string | undefined;
    await waitFor(async () => (viaVxlan = await lab.fetch(from, `http://${ips.b}:8080/`)) !== undefined, { timeoutMs: 20_000, what: "a pod on host b from a pod on host a" });
    expect(viaVxlan).to.equal(ips.a);
    let hostGw: string | undefined;
    await waitFor(async () => (hostGw = await lab.fetch(from, `http://${ips.c}:8080/`)) !== undefined, { timeoutMs: 20_000, what: "a pod on host c from a pod on host a" });
    expect(hostGw).to.equal(ips.a);
    // Full-size packets too: the pod's 1500-byte packets meet the device's 1450 and the path MTU shrinks.
    expect((await lab.fetch(from, `http://${ips.b}:8080/big`, 15_000))?.length).to.equal(300_000);
    // And from C, whose peer B is behind the router too.
    expect(await lab.fetch(podNetnsName(uid("c")), `http://${ips.b}:8080/`)).to.equal(ips.c);

    for (const tag of ["pods-in-from-b", "pods-in-to-b-side", "pods-out-to-b", "pods-out-from-a-side"]) {
      expect(packets(tag.includes("in") ? "raw" : "mangle", tag.includes("in") ? "PREROUTING" : "POSTROUTING", tag), tag).to.equal(0);
    }
    expect(packets("mangle", "POSTROUTING", "vxlan-to-b")).to.be.greaterThan(0);
    expect(packets("raw", "PREROUTING", "vxlan-from-b")).to.be.greaterThan(0);
    const a = vxlanStats(ns.a!);
    expect(a.tx).to.be.greaterThan(0);
    expect(a.rx).to.be.greaterThan(0);
  });

  it("drops a node's VXLAN entries when it leaves, and the device with the last of them", async () => {
    await nets.a!.syncRoutes(peers.filter((p) => p.address !== "10.250.2.2"));
    const left = lab.sh(ns.a!, "ip route show proto 202");
    expect(left).to.not.include("10.244.2.0/24");
    expect(left).to.include("10.244.3.0/24 via 10.250.1.3");
    expect(() => lab.sh(ns.a!, "ip link show flotilla.vxlan 2>/dev/null")).to.throw();
    // B comes back: the entries return.
    await nets.a!.syncRoutes(peers);
    expect(lab.sh(ns.a!, "bridge fdb show dev flotilla.vxlan")).to.include("dst 10.250.2.2");
    expect(lab.sh(ns.a!, "ip neigh show dev flotilla.vxlan")).to.include("10.244.2.0 lladdr 0e:f1:0a:fa:02:02 PERMANENT");
  });

  it("removes routes, FDB and the device when the node's network is cleaned up", async () => {
    await nets.b!.teardown(uid("b"));
    await nets.b!.cleanupNode();
    expect(lab.sh(ns.b!, "ip route show proto 202")).to.equal("");
    expect(() => lab.sh(ns.b!, "ip link show flotilla.vxlan 2>/dev/null")).to.throw();
  });
});
