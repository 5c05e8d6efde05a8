/**
 * The node IPAM controller (leader-elected), as kube-controller-manager's nodeipam with
 * `--allocate-node-cidrs`: every Node without `spec.podCIDR` gets the lowest free block of the
 * cluster CIDR (default a /24 of 10.244.0.0/16). Keys are node names, handled one at a time; the
 * blocks it has written but not yet seen in its cache count as taken, so two new nodes never get
 * the same one. A node holding a block another node holds, or one left without a block, gets a
 * Warning Event (`CIDRNotAvailable`).
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: nodeIpamController, opts: { clusterCIDR: "10.244.0.0/16" } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Node } from "../../bus/resources.ts";
import type { IpamCommand, IpamView, PodCIDROptions } from "./pod-cidrs.ts";
import { match } from "ts-pattern";
import { Informer } from "../../runtime/informer.ts";
import { on, referenceTo, startController } from "../../runtime/controller.ts";
import { DEFAULT_POD_CIDRS, reconcile } from "./pod-cidrs.ts";

const BY_POD_CIDR = "podCIDR";

export interface NodeIpamOptions {
  clusterCIDR?: string;
  nodeMaskSize?: number;
}

export async function startNodeIpam(ctx: ActorContext, opts: NodeIpamOptions = {}): Promise<Actor> {
  const options: PodCIDROptions = { clusterCIDR: opts.clusterCIDR ?? DEFAULT_POD_CIDRS.clusterCIDR, nodeMaskSize: opts.nodeMaskSize ?? DEFAULT_POD_CIDRS.nodeMaskSize };
  const nodes = new Informer<Node>(ctx.nc, ctx.cluster, { resource: "nodes", indexers: { [BY_POD_CIDR]: (n) => (n.spec?.podCIDR ? [n.spec.podCIDR] : []) }, log: ctx.log });
  /** node → the block written for it, until the cache shows the node holding a block (or the node is gone). */
  const written = new Map<string, string>();
  /** The block written for a node that its cached copy does not show yet; settled entries are dropped. */
  const pendingBlock = (nodeName: string): string | undefined => {
    const w = written.get(nodeName);
    if (w === undefined) return undefined;
    const n = nodes.get(undefined, nodeName);
    if (n && !n.spec?.podCIDR) return w;
    written.delete(nodeName);
    return undefined;
  };
  const holdersOf = (c: string) => nodes.byIndex(BY_POD_CIDR, c).map((n) => n.metadata.name!);
  /** The blocks handed out and not yet seen held (one walk of the few written, per view). */
  const pendingBlocks = (): Set<string> => {
    const out = new Set<string>();
    for (const n of [...written.keys()]) {
      const w = pendingBlock(n);
      if (w !== undefined) out.add(w);
    }
    return out;
  };
  const takenView = () => {
    const pending = pendingBlocks();
    let pendingOnly = 0;
    for (const c of pending) if (nodes.countByIndex(BY_POD_CIDR, c) === 0) pendingOnly++;
    return { taken: (c: string): boolean => nodes.countByIndex(BY_POD_CIDR, c) > 0 || pending.has(c), takenCount: nodes.indexValues(BY_POD_CIDR) + pendingOnly };
  };
  /** The node as the controller last wrote it: an event older than its own write must not get it a second block. */
  const nodeOf = (key: string): Node | undefined => {
    const n = nodes.get(undefined, key);
    const w = n && !n.spec?.podCIDR ? pendingBlock(key) : undefined;
    return n && w ? { ...n, spec: { ...n.spec, podCIDR: w, podCIDRs: [w] } } : n;
  };
  const name = (n: Node) => n.metadata.name;
  return startController<IpamView, IpamCommand>(ctx, {
    component: "node-ipam-controller",
    informers: [nodes],
    watches: [on(nodes, { add: name, update: (_o, n) => name(n), delete: () => nodes.list().filter((n) => !n.spec?.podCIDR).map(name) })],
    view: (key) => ({ node: nodeOf(key), ...takenView(), holdersOf, options }),
    objectOf: (v) => v.node,
    reconcile: (key, v) => reconcile(key, v),
    concurrency: 1,
    execute: (c, pass) =>
      match(c)
        .with({ type: "node.pod-cidr" }, async (c) => {
          // A merge patch of the spec alone, as Kubernetes' allocator sends: the node's own status
          // writes (every heartbeat) do not make it conflict.
          await ctx.store.patch("nodes", undefined, c.node.metadata.name!, "merge", { spec: { podCIDR: c.podCIDR, podCIDRs: [c.podCIDR] } });
          written.set(c.node.metadata.name!, c.podCIDR);
          ctx.log.info("assigned a pod CIDR", { node: c.node.metadata.name, podCIDR: c.podCIDR });
        })
        .with({ type: "node.pod-cidr-conflict" }, async (c) => pass.events.record(referenceTo(c.node), "Warning", "CIDRNotAvailable", c.message))
        .exhaustive(),
  });
}

export const nodeIpamController: ActorDefinition<NodeIpamOptions> = {
  kind: "node-ipam-controller",
  leaderElected: true,
  start: (ctx, opts) => startNodeIpam(ctx, opts),
};
