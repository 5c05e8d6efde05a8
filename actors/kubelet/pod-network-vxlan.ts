/**
 * The node's VXLAN device and its per-peer entries (the plan comes from pod-network-routes.ts):
 * `flotilla.vxlan` (VNI 1, UDP 4789, no learning) with this node's VTEP address and a MAC derived
 * from its own address (the source of its packets to the peers, which is where they send theirs), and for
 * every peer reached over VXLAN a permanent neighbour entry (VTEP address → MAC) and an FDB entry
 * (MAC → the peer's node address). Entries for peers that left are removed; the device goes when no
 * peer needs it any more.
 *
 * @example
 *   await syncVxlan(run, plan);   // plan.vtep undefined → the device is removed
 */
import type { Runner } from "../../runtime/command.ts";
import type { PeerRoute, RoutePlan } from "./pod-network-routes.ts";
import { RouteKind, VXLAN_DEVICE, VXLAN_ID, VXLAN_PORT, vtepMac } from "./pod-network-routes.ts";

type VxlanPeer = Extract<PeerRoute, { kind: typeof RouteKind.vxlan }>;

async function must(run: Runner, args: string[], what: string): Promise<void> {
  const r = await run(args[0]!, args.slice(1));
  if (r.code !== 0) throw new Error(`${what}: ${args.join(" ")}: ${r.stderr.trim()}`);
}

/**
 * The address and interface this node sends VXLAN packets from towards `peer` (the route's source
 * and device): the address is the node's own as its peers know it (they send to it), and created on
 * that device, the VXLAN device takes its MTU less the 50 bytes of encapsulation, so encapsulated
 * packets are never fragmented.
 */
async function underlayFor(run: Runner, peer: string): Promise<{ src?: string; dev?: string }> {
  const r = await run("ip", ["-4", "route", "get", peer]);
  return { src: /\bsrc\s+(\S+)/.exec(r.stdout)?.[1], dev: /\bdev\s+(\S+)/.exec(r.stdout)?.[1] };
}

/** Creates or updates the device and its FDB/neighbour entries for `plan`; removes the device when no peer needs it. */
export async function syncVxlan(run: Runner, plan: RoutePlan): Promise<void> {
  const peers = plan.routes.filter((r): r is VxlanPeer => r.kind === RouteKind.vxlan);
  const exists = (await run("ip", ["link", "show", VXLAN_DEVICE])).code === 0;
  if (!plan.vtep || peers.length === 0) {
    if (exists) await run("ip", ["link", "del", VXLAN_DEVICE]);
    return;
  }
  const { src, dev } = await underlayFor(run, peers[0]!.dst);
  if (!src) throw new Error(`no route to ${peers[0]!.dst} for VXLAN`);
  if (!exists) {
    await must(run, ["ip", "link", "add", VXLAN_DEVICE, "type", "vxlan", "id", String(VXLAN_ID), "dstport", String(VXLAN_PORT), "local", src, ...(dev ? ["dev", dev] : []), "nolearning"], "vxlan device");
  }
  await must(run, ["ip", "link", "set", VXLAN_DEVICE, "address", vtepMac(src)], "vxlan MAC");
  await must(run, ["ip", "addr", "replace", `${plan.vtep.address}/32`, "dev", VXLAN_DEVICE], "vxlan address");
  await must(run, ["ip", "link", "set", VXLAN_DEVICE, "up"], "vxlan up");

  const wantFdb = new Map(peers.map((p) => [p.mac, p.dst]));
  const wantNeigh = new Map(peers.map((p) => [p.via, p.mac]));
  // Entries for peers that left or moved.
  for (const line of (await run("bridge", ["fdb", "show", "dev", VXLAN_DEVICE])).stdout.split("\n")) {
    const m = /^(\S+)\s+dst\s+(\S+)/.exec(line.trim());
    if (m && wantFdb.get(m[1]!) !== m[2]) await run("bridge", ["fdb", "del", m[1]!, "dev", VXLAN_DEVICE, "dst", m[2]!, "self"]);
  }
  for (const line of (await run("ip", ["-4", "neigh", "show", "dev", VXLAN_DEVICE])).stdout.split("\n")) {
    const m = /^(\S+)\s+lladdr\s+(\S+)/.exec(line.trim());
    if (m && wantNeigh.get(m[1]!) !== m[2]) await run("ip", ["neigh", "del", m[1]!, "dev", VXLAN_DEVICE]);
  }
  for (const p of peers) {
    await must(run, ["ip", "neigh", "replace", p.via, "lladdr", p.mac, "dev", VXLAN_DEVICE, "nud", "permanent"], `neighbour ${p.via}`);
    await must(run, ["bridge", "fdb", "replace", p.mac, "dev", VXLAN_DEVICE, "dst", p.dst, "self", "permanent"], `fdb ${p.mac}`);
  }
}
