/**
 * Many simulated nodes in one process (scale tests, benchmarks — like kubemark/KWOK): N node
 * agents share ONE pod informer (events dispatched by spec.nodeName) and ONE LeaseKeeper that
 * renews every node's Lease in batches, so 1,000 nodes cost one KV consumer, not 1,000.
 *
 * @example
 *   const pool = await startNodePool({ nc, cluster: "default", count: 1000, namePrefix: "sim-" });
 *   …
 *   await pool.stop();
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Pod, Taint, Labels } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { Informer } from "../../runtime/informer.ts";
import { createLogger } from "../../runtime/logger.ts";
import { VERSION } from "../../runtime/actor.ts";
import { SimulatedEngine } from "./engines/simulated.ts";
import { NodeAgent } from "./agent.ts";
import { registerNode, LeaseKeeper } from "./node-status.ts";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS } from "./backoff.ts";

/** The simulated nodes' Lease duration unless told otherwise: the kubelet's default. */
export const NODE_POOL_LEASE_SECONDS = 10;

export interface NodePoolOptions {
  nc: NatsConnection;
  cluster: string;
  count: number;
  namePrefix: string;
  engine?: "simulated";
  labels?: Labels | ((i: number) => Labels);
  taints?: Taint[];
  capacity?: { cpu?: string | number; memory?: string | number; pods?: string | number };
  startLatencyMs?: number;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  backoffBaseMs?: number;
  /** Writes in flight while registering and renewing. */
  concurrency?: number;
  log?: Logger;
}

export interface NodePool {
  nodes: string[];
  leases: LeaseKeeper;
  stop(): Promise<void>;
}

async function inBatches<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

export async function startNodePool(o: NodePoolOptions): Promise<NodePool> {
  const log = o.log ?? createLogger("kubelet-pool", { prefix: o.namePrefix });
  const store = new StoreClient(o.nc, o.cluster, 30_000);
  const nodes = Array.from({ length: o.count }, (_, i) => `${o.namePrefix}${i}`);
  const agents = new Map<string, NodeAgent>();
  const leaseSeconds = o.leaseDurationSeconds ?? NODE_POOL_LEASE_SECONDS;
  const informer = new Informer<Pod>(o.nc, o.cluster, { resource: "pods", filter: (p) => agents.has(p.spec?.nodeName ?? ""), log });
  const leases = new LeaseKeeper(store, {
    durationSeconds: leaseSeconds,
    renewIntervalMs: o.renewIntervalMs ?? (leaseSeconds * 1000) / 3,
    concurrency: o.concurrency ?? 64,
    log,
  });
  const engines: SimulatedEngine[] = [];
  nodes.forEach((nodeName, i) => {
    const engine = new SimulatedEngine({ startLatencyMs: o.startLatencyMs, nodeIndex: i });
    engines.push(engine);
    const agent = new NodeAgent({
      nodeName,
      hostIP: `10.240.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`,
      engine,
      store,
      log: log.child({ node: nodeName }),
      backoff: { baseMs: o.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, maxMs: DEFAULT_BACKOFF_MAX_MS },
      getPod: (ns, name) => informer.get(ns, name),
      concurrency: 4,
    });
    agents.set(nodeName, agent);
  });
  await inBatches(nodes, o.concurrency ?? 64, async (nodeName) => {
    const i = nodes.indexOf(nodeName);
    const node = await registerNode(
      store,
      {
        nodeName,
        engine: "simulated",
        engineVersion: VERSION,
        labels: typeof o.labels === "function" ? o.labels(i) : o.labels,
        taints: o.taints,
        capacity: { cpu: 4, memory: "16Gi", pods: 110, ...(o.capacity ?? {}) },
        hostIP: `10.240.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`,
        kubeletVersion: `v1.32.0-flotilla.${VERSION}`,
      },
      Date.now(),
    );
    leases.add(nodeName, node.metadata.uid);
  });
  await leases.start();
  const dispatch = (p: Pod) => agents.get(p.spec?.nodeName ?? "")?.enqueue(p);
  informer.addHandlers({ add: dispatch, update: (_o, p) => dispatch(p), delete: dispatch });
  await informer.start();
  return {
    nodes,
    leases,
    async stop() {
      informer.stop();
      await leases.stop();
      await Promise.all([...agents.values()].map((a) => a.stop()));
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}
