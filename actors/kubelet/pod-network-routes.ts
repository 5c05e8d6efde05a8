/**
 * How a node reaches each other node's podCIDR — a pure decision, per peer:
 *
 * - **host-gw** when the peer's node address lies in a subnet this node is directly connected to
 *   (one L2 link): `ip route replace <podCIDR> via <peerIP>`. No encapsulation, the full MTU.
 * - **VXLAN** otherwise (a router between the nodes, which knows nothing of pod addresses): the
 *   pod packet travels inside UDP to port 4789 of the peer's node address, through the device
 *   `flotilla.vxlan` (VNI 1), as flannel's `vxlan` backend does. Each node's VTEP has the first
 *   address of its podCIDR's network (`10.244.2.0` for `10.244.2.0/24`, as a /32) and a MAC derived
 *   from the node's address (`0e:f1:0a:fa:02:02` for 10.250.2.2: nodes sharing a machine share its
 *   device and so its MAC), so a peer needs nothing but the Node's `spec.podCIDR` and InternalIP —
 *   no annotation carrying a random MAC as flannel's `backend-data`. Per peer:
 *   a route `<podCIDR> via <peer VTEP> dev flotilla.vxlan onlink`, a permanent neighbour entry
 *   (peer VTEP → peer MAC) and an FDB entry (peer MAC → peer node address).
 *
 * @example
 *   planPeerRoutes({ podCIDR: "10.244.1.0/24", subnets: ["10.250.1.0/24"], peers: [
 *     { podCIDR: "10.244.3.0/24", address: "10.250.1.3" },   // same link → host-gw via 10.250.1.3
 *     { podCIDR: "10.244.2.0/24", address: "10.250.2.2" },   // behind a router → vxlan
 *   ] });
 */
import { inCidr, intToIp, ipToInt, parseCidr } from "../../bus/cidr.ts";

/** The VXLAN device every node of the cluster uses (one per node network namespace). */
export const VXLAN_DEVICE = "flotilla.vxlan";
/** The VXLAN network identifier and the IANA port, as flannel uses them. */
export const VXLAN_ID = 1;
export const VXLAN_PORT = 4789;
/** Bytes a VXLAN-encapsulated packet carries on top of the pod's (outer IPv4 + UDP + VXLAN + inner Ethernet). */
export const VXLAN_OVERHEAD = 50;

export const RouteKind = { hostGw: "host-gw", vxlan: "vxlan" } as const;
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

export interface PeerNode {
  podCIDR: string;
  /** The peer node's address (its InternalIP). */
  address: string;
}

export type PeerRoute =
  | { kind: typeof RouteKind.hostGw; podCIDR: string; via: string }
  | { kind: typeof RouteKind.vxlan; podCIDR: string; /** the peer's VTEP address */ via: string; mac: string; /** the peer node's address (outer destination) */ dst: string };

export interface RoutePlan {
  routes: PeerRoute[];
  /** This node's VTEP address, when at least one peer is reached over VXLAN (its MAC follows from the node's address: `vtepMac`). */
  vtep?: { address: string };
}

/** A node's VTEP address: the network address of its podCIDR (`10.244.2.0/24` → `10.244.2.0`). */
export const vtepAddress = (podCIDR: string): string => intToIp(parseCidr(podCIDR).base);

/** A node's VTEP MAC: locally administered, unicast, `0e:f1:` + the four bytes of the node's address. */
export function vtepMac(nodeAddress: string): string {
  const n = ipToInt(nodeAddress);
  const bytes = [0x0e, 0xf1, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Whether `address` is on one of the directly connected `subnets` (reachable without a router). */
export const onLink = (address: string, subnets: readonly string[]): boolean => subnets.some((s) => inCidr(address, s));

/** Each peer's route: host-gw when its node address is on a connected subnet, VXLAN otherwise. Peers with this node's own podCIDR are skipped. */
export function planPeerRoutes(o: { podCIDR: string; subnets: readonly string[]; peers: readonly PeerNode[] }): RoutePlan {
  const routes: PeerRoute[] = o.peers
    .filter((p) => p.podCIDR !== o.podCIDR)
    .map((p) =>
      onLink(p.address, o.subnets)
        ? { kind: RouteKind.hostGw, podCIDR: p.podCIDR, via: p.address }
        : { kind: RouteKind.vxlan, podCIDR: p.podCIDR, via: vtepAddress(p.podCIDR), mac: vtepMac(p.address), dst: p.address },
    );
  const vtep = routes.some((r) => r.kind === RouteKind.vxlan) ? { address: vtepAddress(o.podCIDR) } : undefined;
  return { routes, ...(vtep ? { vtep } : {}) };
}

/**
 * The subnets this node is directly connected to, from `ip -4 -o addr show`: every interface's
 * block except loopback, the VXLAN device and pod ranges (the node bridges inside `clusterCIDR`).
 */
export function connectedSubnets(ipAddrShow: string, clusterCIDR: string): string[] {
  const out = new Set<string>();
  for (const line of ipAddrShow.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!m) continue;
    const [, dev, ip, prefix] = m;
    if (dev === "lo" || dev === VXLAN_DEVICE || Number(prefix) === 32 || inCidr(ip!, clusterCIDR)) continue;
    const c = parseCidr(`${ip}/${prefix}`);
    out.add(`${intToIp(c.base)}/${c.prefix}`);
  }
  return [...out];
}

/** A route as `ip -4 route show proto 202` prints it: destination, gateway, and whether it goes through the VXLAN device. */
export interface InstalledRoute {
  dst: string;
  via?: string;
  vxlan: boolean;
}

export function parseRoutes(text: string): InstalledRoute[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const words = line.trim().split(/\s+/);
      const at = (k: string) => (words.indexOf(k) >= 0 ? words[words.indexOf(k) + 1] : undefined);
      return { dst: words[0]!, via: at("via"), vxlan: at("dev") === VXLAN_DEVICE };
    });
}

/** The routes to delete (installed but not wanted, or wanted differently) for `plan`. */
export function staleRoutes(installed: readonly InstalledRoute[], plan: RoutePlan): string[] {
  const want = new Map(plan.routes.map((r) => [r.podCIDR, r]));
  return installed
    .filter((h) => {
      const w = want.get(h.dst);
      return !w || w.via !== h.via || (w.kind === RouteKind.vxlan) !== h.vxlan;
    })
    .map((h) => h.dst);
}
