/**
 * Scheduler throughput: a fresh nats-server, a store actor and the scheduler; N simulated nodes
 * (plain Node objects written through the store — no kubelets are needed to bind), then M pods
 * created as fast as the store takes them. A subscriber on the store's event feed (the bucket's
 * republish) sees each pod's first write with spec.nodeName: create → bound latency, in an HDR
 * histogram, and pods bound per second from the first create to the last bind.
 *
 * @example
 *   const r = await benchScheduler({ nodes: 5000, pods: 10000 });   // { podsPerSecond, p50Ms, p99Ms }
 *   // node --import tsx bench/scheduler.ts [nodes] [pods]
 */
import * as hdr from "hdr-histogram-js";
import type { Node, Pod } from "../bus/resources.ts";
import { startNatsServer } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { subjects } from "../bus/subjects.ts";
import { decode } from "../bus/codec.ts";
import { storeActor } from "../actors/store/index.ts";
import { scheduler } from "../actors/scheduler/index.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { schedulerGate } from "./figures.ts";

const STORE_ONLY = "--store-only";

/** Store actors in their own processes (as in a deployment), so they do not share a core's event loop with the scheduler. */
async function spawnStores(url: string, cluster: string, n: number): Promise<ChildProcess[]> {
  const kids: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), STORE_ONLY, url, cluster], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, FLOTILLA_LOG: "warn" },
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`store process exited with ${code}`)));
    });
    kids.push(child);
  }
  return kids;
}

export interface SchedulerBenchResult {
  nodes: number;
  pods: number;
  podsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function node(i: number): Node {
  const name = `node-${i}`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": `zone-${i % 3}` } },
    spec: {},
    status: {
      capacity: { cpu: "32", memory: "128Gi", pods: "110" },
      allocatable: { cpu: "32", memory: "128Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

function pod(i: number): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `bench-${i}`, namespace: "default", labels: { app: `app-${i % 50}` } },
    spec: { containers: [{ name: "c", image: "pause", resources: { requests: { cpu: "100m", memory: "128Mi" } } }] },
  };
}

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export async function benchScheduler(o: {
  nodes: number;
  pods: number;
  createConcurrency?: number;
  percentageOfNodesToScore?: number;
  /** Store actors in child processes (default 0: in this process, sharing its event loop). */
  storeProcesses?: number;
}): Promise<SchedulerBenchResult> {
  const prevLog = process.env.FLOTILLA_LOG;
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench";
  const server = await startNatsServer({ port: 0 });
  const storeProcs = o.storeProcesses ?? 0;
  const storeHost = storeProcs === 0 ? await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor, opts: {} }] }) : undefined;
  const kids = storeProcs > 0 ? await spawnStores(server.url, cluster, storeProcs) : [];
  const nc = await connectNats(server.url, "bench-scheduler");
  const store = new StoreClient(nc, cluster, 60_000);
  let schedHost: Awaited<ReturnType<typeof startHost>> | undefined;
  try {
    await pool(o.nodes, 64, (i) => store.create("nodes", undefined, node(i)));

    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    let onBound: (() => void) | undefined;
    const sub = nc.subscribe(subjects(cluster).events("pods", "default"), {
      callback: (_e, m) => {
        if (m.data.length === 0) return;
        const p = decode<Pod>(m.data);
        const name = p.metadata.name!;
        if (p.spec.nodeName && !bound.has(name)) {
          bound.set(name, performance.now());
          onBound?.();
        }
      },
    });
    schedHost = await startHost({
      natsUrl: server.url,
      cluster,
      actors: [{ def: scheduler, opts: { percentageOfNodesToScore: o.percentageOfNodesToScore } }],
    });
    // Warm-up: the scheduler has won its Lease and listed every node once this pod is bound.
    await store.create("pods", "default", { ...pod(-1), metadata: { name: "warmup", namespace: "default" } } as Pod);
    await new Promise<void>((resolve) => {
      onBound = () => bound.has("warmup") && resolve();
      onBound();
    });

    const allBound = new Promise<void>((resolve) => {
      onBound = () => bound.size >= o.pods + 1 && resolve();
    });
    const t0 = performance.now();
    await pool(o.pods, o.createConcurrency ?? 128, async (i) => {
      const name = `bench-${i}`;
      created.set(name, performance.now());
      await store.create("pods", "default", pod(i));
    });
    await allBound;
    sub.unsubscribe();

    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
    let last = 0;
    for (const [name, start] of created) {
      const end = bound.get(name)!;
      last = Math.max(last, end);
      h.recordValue(Math.max(1, Math.round((end - start) * 1000))); // microseconds
    }
    const result: SchedulerBenchResult = {
      nodes: o.nodes,
      pods: o.pods,
      podsPerSecond: Math.round((o.pods / (last - t0)) * 1000),
      p50Ms: h.getValueAtPercentile(50) / 1000,
      p99Ms: h.getValueAtPercentile(99) / 1000,
    };
    h.destroy();
    return result;
  } finally {
    await schedHost?.stop();
    await storeHost?.stop();
    for (const k of kids) {
      const exited = new Promise((r) => k.once("exit", r));
      k.kill("SIGTERM");
      await exited;
    }
    await nc.close();
    await server.stop();
    if (prevLog === undefined) delete process.env.FLOTILLA_LOG;
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === STORE_ONLY) {
  const host = await startHost({ natsUrl: process.argv[3]!, cluster: process.argv[4]!, actors: [{ def: storeActor, opts: {} }] });
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => void host.stop().then(() => process.exit(0)));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const nodes = process.argv[2] ? [Number(process.argv[2])] : [1000, 5000];
  const pods = Number(process.argv[3] ?? 10_000);
  const storeProcesses = Number(process.env.BENCH_STORE_PROCESSES ?? 0);
  const rows = [];
  for (const n of nodes) rows.push(await benchScheduler({ nodes: n, pods, storeProcesses }));
  console.table(rows.map((r) => ({ nodes: r.nodes, pods: r.pods, "pods/s": r.podsPerSecond, "p50 ms": r.p50Ms, "p99 ms": r.p99Ms, "kube-scheduler threshold (published)": schedulerGate(r.nodes, r.pods)?.value ?? "none for this shape" })));
}
