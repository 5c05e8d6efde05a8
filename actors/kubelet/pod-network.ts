/**
 * Pod networking for engines that do not bring their own (the process engine): each pod gets a
 * network namespace with its own loopback and an `eth0` veth to the node's bridge, an address from
 * the node's `spec.podCIDR`, and a default route via the bridge (the podCIDR's first address). The
 * node routes other nodes' podCIDRs straight to them (host-gw) when they share a link, through a
 * VXLAN device otherwise (pod-network-routes.ts), so pod-to-pod traffic crosses machines with no
 * proxy in the path. Traffic leaving the cluster CIDR is masqueraded.
 *
 * Addresses are allocated host-local, as the CNI `host-local` plugin does: one file per address under
 * `<stateDir>/ipam/`, created with O_EXCL (atomic), holding the pod uid.
 *
 * @example
 *   const net = new PodNetwork({ podCIDR: "10.244.1.0/24", clusterCIDR: "10.244.0.0/16", stateDir });
 *   await net.ensureNode();
 *   const { netns, ip } = await net.setup(pod.uid);
 */
import type { Runner } from "../../runtime/command.ts";
import type { PeerNode, RoutePlan } from "./pod-network-routes.ts";
import { createHash } from "node:crypto";
import { mkdirSync, openSync, writeSync, closeSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { commandRunner } from "../../runtime/command.ts";
import { nthAddress, parseCidr } from "../../bus/cidr.ts";
import { RouteKind, VXLAN_DEVICE, connectedSubnets, parseRoutes, planPeerRoutes, staleRoutes } from "./pod-network-routes.ts";
import { syncVxlan } from "./pod-network-vxlan.ts";

export interface PodNetworkOptions {
  podCIDR: string;
  /** The whole cluster's pod range (default 10.244.0.0/16): not masqueraded between nodes. */
  clusterCIDR?: string;
  /** The node bridge (default `flt0`). */
  bridge?: string;
  /** Where the IPAM files live. */
  stateDir: string;
  /** Run the node side inside this network namespace (test hosts); default the current one. */
  nodeNetns?: string;
  /** Who creates and removes the bridge: this class (default), or Docker (its per-node network). */
  bridgeOwner?: "flotilla" | "docker";
  run?: Runner;
}

export interface PodAttachment {
  netns: string;
  ip: string;
}

/** `flt-<uid>`: the pod's network namespace. */
export const podNetnsName = (uid: string) => `flt-${uid}`;
const vethName = (uid: string) => `vflt${createHash("sha256").update(uid).digest("hex").slice(0, 10)}`;
/** The routing protocol number on routes Flotilla installs (so it only ever removes its own). */
export const ROUTE_PROTO = "202";
const MASQ_CHAIN = "FLT-PODNET-MASQ";

export class PodNetwork {
  private readonly run: Runner;
  private readonly host: Runner;
  private readonly bridge: string;
  private readonly clusterCIDR: string;
  private readonly ipamDir: string;
  readonly gateway: string;
  private readonly prefix: number;

  constructor(private readonly o: PodNetworkOptions) {
    this.run = o.run ?? commandRunner();
    this.host = o.run ?? commandRunner(o.nodeNetns);
    this.bridge = o.bridge ?? "flt0";
    this.clusterCIDR = o.clusterCIDR ?? "10.244.0.0/16";
    this.gateway = nthAddress(o.podCIDR, 1);
    this.prefix = parseCidr(o.podCIDR).prefix;
    this.ipamDir = join(o.stateDir, "ipam", o.podCIDR.replace("/", "_"));
    mkdirSync(this.ipamDir, { recursive: true, mode: 0o700 });
  }

  private async must(r: Runner, args: string[], what: string): Promise<string> {
    const res = await r(args[0]!, args.slice(1));
    if (res.code !== 0) throw new Error(`${what}: ${args.join(" ")}: ${res.stderr.trim()}`);
    return res.stdout;
  }

  /** Whether this process can create namespaces and links (root with iproute2). */
  static async available(run: Runner = commandRunner()): Promise<boolean> {
    if (process.getuid?.() !== 0) return false;
    return (await run("ip", ["netns", "list"])).code === 0;
  }

  /** The bridge with the gateway address, forwarding on, bridged traffic through iptables, masquerade out of the cluster. */
  async ensureNode(): Promise<void> {
    const h = this.host;
    if (this.o.bridgeOwner !== "docker") {
      if ((await h("ip", ["link", "show", this.bridge])).code !== 0) {
        await this.must(h, ["ip", "link", "add", this.bridge, "type", "bridge"], "bridge");
      }
      await h("ip", ["addr", "replace", `${this.gateway}/${this.prefix}`, "dev", this.bridge]);
      await this.must(h, ["ip", "link", "set", this.bridge, "up"], "bridge up");
    }
    await h("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    await h("sysctl", ["-qw", "net.bridge.bridge-nf-call-iptables=1"]);
    const rule = ["-s", this.o.podCIDR, "!", "-d", this.clusterCIDR, "-m", "comment", "--comment", "flotilla pod traffic leaving the cluster", "-j", "MASQUERADE"];
    await h("iptables", ["-w", "5", "-t", "nat", "-N", MASQ_CHAIN]);
    // One rule per podCIDR: several nodes may share a network namespace (`flotilla up --nodes N`).
    if ((await h("iptables", ["-w", "5", "-t", "nat", "-C", MASQ_CHAIN, ...rule])).code !== 0) {
      await this.must(h, ["iptables", "-w", "5", "-t", "nat", "-A", MASQ_CHAIN, ...rule], "masquerade");
    }
    const jump = ["-m", "comment", "--comment", "flotilla pod network", "-j", MASQ_CHAIN];
    if ((await h("iptables", ["-w", "5", "-t", "nat", "-C", "POSTROUTING", ...jump])).code !== 0) {
      await this.must(h, ["iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", ...jump], "masquerade jump");
    }
    // Forwarded pod traffic is accepted even where the FORWARD policy drops (Docker sets it so).
    const fwd = ["-m", "comment", "--comment", "flotilla pod network", "-s", this.clusterCIDR, "-j", "ACCEPT"];
    const back = ["-m", "comment", "--comment", "flotilla pod network", "-d", this.clusterCIDR, "-j", "ACCEPT"];
    for (const r of [fwd, back]) {
      if ((await h("iptables", ["-w", "5", "-C", "FORWARD", ...r])).code !== 0) await h("iptables", ["-w", "5", "-I", "FORWARD", ...r]);
    }
  }

  /** Claims an address for `uid` (the same one again if it already holds one). */
  private allocate(uid: string): string {
    for (const f of readdirSync(this.ipamDir)) {
      try {
        if (readFileSync(join(this.ipamDir, f), "utf8") === uid) return f;
      } catch {
        /* released meanwhile */
      }
    }
    const { size } = parseCidr(this.o.podCIDR);
    for (let n = 2; n < size - 1; n++) {
      const ip = nthAddress(this.o.podCIDR, n);
      let fd: number;
      try {
        fd = openSync(join(this.ipamDir, ip), "wx", 0o600);
      } catch {
        continue; // taken
      }
      writeSync(fd, uid);
      closeSync(fd);
      return ip;
    }
    throw new Error(`no free address left in ${this.o.podCIDR}`);
  }

  private release(uid: string): void {
    for (const f of readdirSync(this.ipamDir)) {
      try {
        if (readFileSync(join(this.ipamDir, f), "utf8") === uid) unlinkSync(join(this.ipamDir, f));
      } catch {
        /* gone */
      }
    }
  }

  /** Pod uids holding an address (for garbage collection after a restart). */
  allocated(): Map<string, string> {
    const out = new Map<string, string>();
    for (const f of readdirSync(this.ipamDir)) {
      try {
        out.set(readFileSync(join(this.ipamDir, f), "utf8"), f);
      } catch {
        /* gone */
      }
    }
    return out;
  }

  /** Creates (or finds) the pod's namespace and link. Idempotent. */
  async setup(uid: string): Promise<PodAttachment> {
    const netns = podNetnsName(uid);
    const ip = this.allocate(uid);
    const inPod = commandRunner(netns);
    const exists = (await this.run("ip", ["netns", "exec", netns, "true"])).code === 0;
    if (exists && (await inPod("ip", ["-4", "addr", "show", "dev", "eth0"])).stdout.includes(`${ip}/`)) return { netns, ip };
    try {
      if (!exists) await this.must(this.run, ["ip", "netns", "add", netns], "netns");
      await inPod("ip", ["link", "set", "lo", "up"]);
      const veth = vethName(uid);
      const h = this.host;
      await h("ip", ["link", "del", veth]);
      await this.must(h, ["ip", "link", "add", veth, "type", "veth", "peer", "name", `${veth}p`], "veth");
      await this.must(h, ["ip", "link", "set", `${veth}p`, "netns", netns], "veth into pod");
      await this.must(h, ["ip", "link", "set", veth, "master", this.bridge], "veth on bridge");
      await this.must(h, ["ip", "link", "set", veth, "up"], "veth up");
      await this.must(inPod, ["ip", "link", "set", `${veth}p`, "name", "eth0"], "eth0");
      await this.must(inPod, ["ip", "addr", "add", `${ip}/${this.prefix}`, "dev", "eth0"], "address");
      await this.must(inPod, ["ip", "link", "set", "eth0", "up"], "eth0 up");
      await this.must(inPod, ["ip", "route", "replace", "default", "via", this.gateway], "default route");
      return { netns, ip };
    } catch (e) {
      await this.teardown(uid);
      throw e;
    }
  }

  /** Removes the namespace (its veth goes with it) and frees the address. Idempotent. */
  async teardown(uid: string): Promise<void> {
    const netns = podNetnsName(uid);
    await this.host("ip", ["link", "del", vethName(uid)]);
    await this.run("ip", ["netns", "del", netns]);
    this.release(uid);
  }

  /**
   * Routes to the other nodes' podCIDRs, per peer (pod-network-routes.ts): host-gw via the peer's
   * address when it is on a directly connected subnet, otherwise through the VXLAN device; routes,
   * FDB and neighbour entries of nodes that left are removed, and the device with the last of them.
   */
  async syncRoutes(peers: readonly PeerNode[]): Promise<RoutePlan> {
    const h = this.host;
    const subnets = connectedSubnets((await h("ip", ["-4", "-o", "addr", "show"])).stdout, this.clusterCIDR);
    const plan = planPeerRoutes({ podCIDR: this.o.podCIDR, subnets, peers });
    const installed = parseRoutes((await h("ip", ["-4", "route", "show", "proto", ROUTE_PROTO])).stdout);
    for (const dst of staleRoutes(installed, plan)) await h("ip", ["route", "del", dst, "proto", ROUTE_PROTO]);
    await syncVxlan(h, plan);
    for (const r of plan.routes) {
      const args =
        r.kind === RouteKind.hostGw
          ? ["route", "replace", r.podCIDR, "via", r.via, "proto", ROUTE_PROTO]
          : ["route", "replace", r.podCIDR, "via", r.via, "dev", VXLAN_DEVICE, "onlink", "proto", ROUTE_PROTO];
      const res = await h("ip", args);
      if (res.code !== 0) throw new Error(`route to ${r.podCIDR} via ${r.via} (${r.kind}): ${res.stderr.trim()}`);
    }
    return plan;
  }

  /** Removes what ensureNode and syncRoutes added (the bridge goes only when no pod is attached). */
  async cleanupNode(): Promise<void> {
    const h = this.host;
    await this.syncRoutes([]);
    const rule = ["-s", this.o.podCIDR, "!", "-d", this.clusterCIDR, "-m", "comment", "--comment", "flotilla pod traffic leaving the cluster", "-j", "MASQUERADE"];
    while ((await h("iptables", ["-w", "5", "-t", "nat", "-D", MASQ_CHAIN, ...rule])).code === 0);
    // The shared pieces go with the last node of this namespace.
    const left = (await h("iptables", ["-w", "5", "-t", "nat", "-S", MASQ_CHAIN])).stdout.split("\n").filter((l) => l.startsWith("-A ")).length;
    if (left === 0) {
      await h("iptables", ["-w", "5", "-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "flotilla pod network", "-j", MASQ_CHAIN]);
      await h("iptables", ["-w", "5", "-t", "nat", "-X", MASQ_CHAIN]);
      for (const dir of ["-s", "-d"]) {
        await h("iptables", ["-w", "5", "-D", "FORWARD", "-m", "comment", "--comment", "flotilla pod network", dir, this.clusterCIDR, "-j", "ACCEPT"]);
      }
    }
    if (this.o.bridgeOwner !== "docker" && this.allocated().size === 0) await h("ip", ["link", "del", this.bridge]);
  }
}
