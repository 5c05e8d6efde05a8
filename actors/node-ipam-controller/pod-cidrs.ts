/**
 * Per-node pod ranges, as kube-controller-manager's `--allocate-node-cidrs` hands them out: every
 * Node without `spec.podCIDR` gets the lowest free block of the cluster CIDR (a /24 of
 * 10.244.0.0/16 by default). Pure: one node and what holds which block in, commands out. A block is
 * free when no Node holds it; two Nodes claiming one block (a hand-written spec) are reported,
 * never "fixed" by moving a running node.
 *
 * Every node's heartbeat brings its key here, so a node that holds its block costs one lookup of
 * that block's holders; only a node without one walks the blocks (once, when it joins).
 *
 * @example
 *   reconcile("n2", { node, taken: (c) => holders(c).length > 0, holdersOf, options: DEFAULT_POD_CIDRS })
 *   // { commands: [{ type: "node.pod-cidr", node, podCIDR: "10.244.1.0/24" }] }
 */
import type { Node } from "../../bus/resources.ts";
import { parseCidr, formatCidr } from "../../bus/cidr.ts";

export interface PodCIDROptions {
  clusterCIDR: string;
  nodeMaskSize: number;
}
export const DEFAULT_POD_CIDRS: PodCIDROptions = { clusterCIDR: "10.244.0.0/16", nodeMaskSize: 24 };

/**
 * The lowest block of the cluster CIDR that is not taken, or undefined when every block is.
 * `takenCount` (distinct blocks taken) lets a full range answer without a walk: with more nodes
 * than blocks, every node left without one comes here on each of its updates.
 */
export function lowestFreeBlock(o: PodCIDROptions, taken: (podCIDR: string) => boolean, takenCount = 0): string | undefined {
  const range = parseCidr(o.clusterCIDR);
  if (o.nodeMaskSize < range.prefix || o.nodeMaskSize > 32) return undefined;
  const size = 2 ** (32 - o.nodeMaskSize);
  if (takenCount * size >= range.size) return undefined;
  for (let i = 0; i * size < range.size; i++) {
    const c = formatCidr({ base: range.base + i * size, size, prefix: o.nodeMaskSize });
    if (!taken(c)) return c;
  }
  return undefined;
}

/** What one pass over a node key decides. */
export type IpamCommand = { type: "node.pod-cidr"; node: Node; podCIDR: string } | { type: "node.pod-cidr-conflict"; node: Node; message: string };

export interface IpamView {
  node: Node | undefined;
  /** Whether a block is held by a Node, or was handed out by this controller and not yet seen back. */
  taken(podCIDR: string): boolean;
  /** How many distinct blocks are taken (held or handed out). */
  takenCount: number;
  /** The names of the Nodes holding a block. */
  holdersOf(podCIDR: string): readonly string[];
  options: PodCIDROptions;
}

/** One node key: give it the lowest free block; report a block it shares or a full range. */
export function reconcile(_key: string, v: IpamView): { commands: IpamCommand[] } {
  const node = v.node;
  if (!node || node.metadata.deletionTimestamp) return { commands: [] };
  const held = node.spec?.podCIDR;
  if (held) {
    const holders = v.holdersOf(held);
    if (holders.length <= 1) return { commands: [] };
    return { commands: [{ type: "node.pod-cidr-conflict", node, message: `pod CIDR ${held} is held by nodes ${[...holders].sort().join(", ")}` }] };
  }
  const free = lowestFreeBlock(v.options, v.taken, v.takenCount);
  if (free) return { commands: [{ type: "node.pod-cidr", node, podCIDR: free }] };
  return { commands: [{ type: "node.pod-cidr-conflict", node, message: `no pod CIDR left in ${v.options.clusterCIDR} for node ${node.metadata.name}` }] };
}
