/**
 * Per-node pod ranges, as kube-controller-manager's `--allocate-node-cidrs` hands them out: every
 * Node without `spec.podCIDR` gets the lowest free block of the cluster CIDR (a /24 of
 * 10.244.0.0/16 by default). Pure: Nodes in, assignments out. A block is free when no Node holds
 * it; two Nodes claiming one block (a hand-written spec) are reported, never "fixed" by moving a
 * running node.
 *
 * @example
 *   planPodCIDRs(nodes, { clusterCIDR: "10.244.0.0/16", nodeMaskSize: 24 })
 *   // { assign: [{ node: "n2", podCIDR: "10.244.1.0/24" }], conflicts: [], exhausted: [] }
 */
import type { Node } from "../../bus/resources.ts";
import { parseCidr, formatCidr, inCidr } from "../../bus/cidr.ts";

export interface PodCIDROptions {
  clusterCIDR: string;
  nodeMaskSize: number;
}
export const DEFAULT_POD_CIDRS: PodCIDROptions = { clusterCIDR: "10.244.0.0/16", nodeMaskSize: 24 };

export interface PodCIDRPlan {
  assign: { node: string; podCIDR: string }[];
  /** Blocks held by more than one Node. */
  conflicts: { podCIDR: string; nodes: string[] }[];
  /** Nodes left without a block because the cluster CIDR is full. */
  exhausted: string[];
}

export function planPodCIDRs(nodes: readonly Node[], o: PodCIDROptions = DEFAULT_POD_CIDRS): PodCIDRPlan {
  const holders = new Map<string, string[]>();
  for (const n of nodes) {
    const c = n.spec?.podCIDR;
    if (c) holders.set(c, [...(holders.get(c) ?? []), n.metadata.name!]);
  }
  const range = parseCidr(o.clusterCIDR);
  const size = 2 ** (32 - o.nodeMaskSize);
  const blocks = o.nodeMaskSize < range.prefix ? 0 : range.size / size;
  const plan: PodCIDRPlan = { assign: [], exhausted: [], conflicts: [] };
  for (const [podCIDR, names] of holders) if (names.length > 1) plan.conflicts.push({ podCIDR, nodes: names.sort() });
  let next = 0;
  const waiting = nodes.filter((n) => !n.spec?.podCIDR && !n.metadata.deletionTimestamp).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  for (const n of waiting) {
    let found: string | undefined;
    while (next < blocks && !found) {
      const c = formatCidr({ base: range.base + next++ * size, size, prefix: o.nodeMaskSize });
      if (!holders.has(c)) found = c;
    }
    if (!found) {
      plan.exhausted.push(n.metadata.name!);
      continue;
    }
    holders.set(found, [n.metadata.name!]);
    plan.assign.push({ node: n.metadata.name!, podCIDR: found });
  }
  return plan;
}

/** Whether an address lies in some Node's pod range (for specs and status). */
export const isPodAddress = (ip: string, nodes: readonly Node[]): boolean => nodes.some((n) => n.spec?.podCIDR && inCidr(ip, n.spec.podCIDR));

/** What one pass over a node key decides. */
export type IpamCommand = { type: "node.pod-cidr"; node: Node; podCIDR: string } | { type: "node.pod-cidr-conflict"; node: Node; message: string };

export interface IpamView {
  node: Node | undefined;
  /** Every node, with the blocks this controller handed out but has not yet seen come back. */
  nodes(): readonly Node[];
  /** The names of the nodes holding a block. */
  holdersOf(podCIDR: string): readonly string[];
  options: PodCIDROptions;
}

/**
 * One node key: give it the block the plan assigns it; report a block it shares or a full range.
 * A node that holds a block (every node's heartbeat brings it here) costs one index lookup: only a
 * node without one is planned against every node.
 */
export function reconcile(_key: string, v: IpamView): { commands: IpamCommand[] } {
  const node = v.node;
  if (!node || node.metadata.deletionTimestamp) return { commands: [] };
  const held = node.spec?.podCIDR;
  if (held) {
    const holders = v.holdersOf(held);
    if (holders.length <= 1) return { commands: [] };
    return { commands: [{ type: "node.pod-cidr-conflict", node, message: `pod CIDR ${held} is held by nodes ${[...holders].sort().join(", ")}` }] };
  }
  const plan = planPodCIDRs(v.nodes(), v.options);
  const mine = plan.assign.find((a) => a.node === node.metadata.name);
  if (mine) return { commands: [{ type: "node.pod-cidr", node, podCIDR: mine.podCIDR }] };
  if (plan.exhausted.includes(node.metadata.name!)) {
    return { commands: [{ type: "node.pod-cidr-conflict", node, message: `no pod CIDR left in ${v.options.clusterCIDR} for node ${node.metadata.name}` }] };
  }
  const shared = plan.conflicts.find((c) => c.nodes.includes(node.metadata.name!));
  if (shared) return { commands: [{ type: "node.pod-cidr-conflict", node, message: `pod CIDR ${shared.podCIDR} is held by nodes ${shared.nodes.join(", ")}` }] };
  return { commands: [] };
}
