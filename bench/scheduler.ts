/**
 * Scheduler throughput: a fresh nats-server, the store and the scheduler, each in its own process
 * (as deployed), with this process as the load generator; N simulated nodes (plain Node objects
 * written through the store — no kubelets are needed to bind), then M pods. A subscriber on the
 * store's event feed (the bucket's republish) sees each pod's first write with spec.nodeName.
 *
 * Two shapes:
 * - `pipeline`: pods are created as fast as the store takes them while the scheduler runs
 *   (scheduler_perf's shape); pods bound per second from the first create to the last bind, and
 *   create → bound latency in an HDR histogram.
 * - `drain`: every pod is created (Pending) before the scheduler starts; pods bound per second
 *   from the first bind to the last.
 *
 * `benchSchedulerRuns` repeats a shape on fresh clusters and reports min, median and max.
 *
 * @example
 *   const r = await benchScheduler({ nodes: 5000, pods: 10000 });   // { podsPerSecond, p50Ms, p99Ms }
 *   // node --import tsx bench/scheduler.ts [nodes] [pods] [runs] [pipeline|drain]
 */
import * as hdr from "hdr-histogram-js";
import type { Node, Pod, Event } from "../bus/resources.ts";
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
import { cpuSeconds, coresUsed } from "./lib/proc.ts";

export const STORE_ONLY = "--store-only";
const SCHEDULER_ONLY = "--scheduler-only";

/** One actor in its own process (as in a deployment), so it shares no event loop with the others. */
export async function spawnActorProcess(flag: string, url: string, cluster: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), "--import", "tsx", fileURLToPath(import.meta.url), flag, url, cluster, ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, FLOTILLA_LOG: "warn" },
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`${flag} process exited with ${code}`)));
  });
  return child;
}

async function stopProcess(k: ChildProcess): Promise<void> {
  if (k.exitCode !== null) return;
  const exited = new Promise((r) => k.once("exit", r));
  k.kill("SIGTERM");
  await exited;
}

export type SchedulerShape = "pipeline" | "drain";

export interface SchedulerBenchResult {
  nodes: number;
  pods: number;
  shape: SchedulerShape;
  /** Where each part ran. */
  processes: string;
  podsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * The cores each process used while the pods were scheduled (CPU seconds over wall seconds, from
   * /proc): pipeline from the first create to the last bind, drain from the scheduler's start.
   */
  cores?: Record<string, number>;
  /** Scheduled Events in the store 2 s after the last bind (the scheduler's are best-effort: a full backlog drops them). */
  scheduledEvents?: number;
}

export interface SchedulerRuns {
  nodes: number;
  pods: number;
  shape: SchedulerShape;
  processes: string;
  runs: SchedulerBenchResult[];
  min: number;
  median: number;
  max: number;
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

export interface SchedulerBenchOptions {
  nodes: number;
  pods: number;
  shape?: SchedulerShape;
  createConcurrency?: number;
  percentageOfNodesToScore?: number;
  /** Store actors in child processes (default 1; 0: in this process, sharing its event loop). */
  storeProcesses?: number;
  /** The scheduler in a child process (default true). */
  schedulerProcess?: boolean;
}

export async function benchScheduler(o: SchedulerBenchOptions): Promise<SchedulerBenchResult> {
  const prevLog = process.env.FLOTILLA_LOG;
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench";
  const shape = o.shape ?? "pipeline";
  const server = await startNatsServer({ port: 0 });
  const storeProcs = o.storeProcesses ?? 1;
  const ownProcess = o.schedulerProcess === false;
  const processes =
    storeProcs > 0 && !ownProcess
      ? `separate processes: load generator, store ×${storeProcs}, scheduler, nats-server`
      : `shared process: load generator with ${[storeProcs === 0 ? "the store" : "", ownProcess ? "the scheduler" : ""].filter(Boolean).join(" and ")}; nats-server apart`;
  const storeHost = storeProcs === 0 ? await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor, opts: {} }] }) : undefined;
  const kids: ChildProcess[] = [];
  for (let i = 0; i < storeProcs; i++) kids.push(await spawnActorProcess(STORE_ONLY, server.url, cluster));
  const nc = await connectNats(server.url, "bench-scheduler");
  const store = new StoreClient(nc, cluster, 60_000);
  let schedHost: Awaited<ReturnType<typeof startHost>> | undefined;
  let schedKid: ChildProcess | undefined;
  const startScheduler = async () => {
    if (ownProcess) schedHost = await startHost({ natsUrl: server.url, cluster, actors: [{ def: scheduler, opts: { percentageOfNodesToScore: o.percentageOfNodesToScore } }] });
    else schedKid = await spawnActorProcess(SCHEDULER_ONLY, server.url, cluster, o.percentageOfNodesToScore === undefined ? [] : [String(o.percentageOfNodesToScore)]);
  };
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
    // CPU seconds of each process now, and the cores each used since `from` was taken.
    const cpuNow = (): Record<string, number> => ({
      "nats-server": cpuSeconds(server.pid),
      store: kids.reduce((a, k) => a + (k.pid ? cpuSeconds(k.pid) : 0), 0),
      scheduler: schedKid?.pid ? cpuSeconds(schedKid.pid) : 0,
      "load generator": cpuSeconds(process.pid),
    });
    let from = { at: performance.now(), cpu: cpuNow() };
    const coresSince = (): Record<string, number> => coresUsed(from.cpu, cpuNow(), (performance.now() - from.at) / 1000);
    let cores: Record<string, number> = {};
    const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
    let rate: number;
    if (shape === "drain") {
      // Every pod is Pending before the scheduler starts.
      await pool(o.pods, o.createConcurrency ?? 128, async (i) => {
        created.set(`bench-${i}`, performance.now());
        await store.create("pods", "default", pod(i));
      });
      const allBound = new Promise<void>((resolve) => {
        onBound = () => bound.size >= o.pods && resolve();
      });
      await startScheduler();
      from = { at: performance.now(), cpu: cpuNow() };
      await allBound;
      cores = coresSince();
      const times = [...bound.values()];
      rate = Math.round((o.pods / Math.max(1, Math.max(...times) - Math.min(...times))) * 1000);
      for (const t of times) latency.recordValue(Math.max(1, Math.round((t - Math.min(...times)) * 1000)));
    } else {
      await startScheduler();
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
      from = { at: t0, cpu: cpuNow() };
      await pool(o.pods, o.createConcurrency ?? 128, async (i) => {
        const name = `bench-${i}`;
        created.set(name, performance.now());
        await store.create("pods", "default", pod(i));
      });
      await allBound;
      cores = coresSince();
      let last = 0;
      for (const [name, start] of created) {
        const end = bound.get(name)!;
        last = Math.max(last, end);
        latency.recordValue(Math.max(1, Math.round((end - start) * 1000))); // microseconds
      }
      rate = Math.round((o.pods / (last - t0)) * 1000);
    }
    sub.unsubscribe();
    await new Promise((r) => setTimeout(r, 2000));
    const scheduledEvents = await countScheduledEvents(store);
    const result: SchedulerBenchResult = {
      nodes: o.nodes,
      pods: o.pods,
      shape,
      processes,
      podsPerSecond: rate,
      // drain: how long after the first bind each pod was bound
      p50Ms: latency.getValueAtPercentile(50) / 1000,
      p99Ms: latency.getValueAtPercentile(99) / 1000,
      scheduledEvents,
      cores,
    };
    latency.destroy();
    return result;
  } finally {
    await schedHost?.stop();
    if (schedKid) await stopProcess(schedKid);
    await storeHost?.stop();
    for (const k of kids) await stopProcess(k);
    await nc.close();
    await server.stop();
    if (prevLog === undefined) delete process.env.FLOTILLA_LOG;
  }
}

/** Events with reason Scheduled in the default namespace, the warm-up pod's left out (the client pages the whole list). */
async function countScheduledEvents(store: StoreClient): Promise<number> {
  const { items } = await store.list<Event>("events", "default");
  return items.filter((e) => e.reason === "Scheduled" && e.involvedObject.name !== "warmup").length;
}

/** The same shape `runs` times, each on a fresh cluster: min, median and max pods/s. */
export async function benchSchedulerRuns(o: SchedulerBenchOptions & { runs: number; onRun?: (i: number) => void }): Promise<SchedulerRuns> {
  const runs: SchedulerBenchResult[] = [];
  for (let i = 0; i < o.runs; i++) {
    runs.push(await benchScheduler(o));
    o.onRun?.(i);
  }
  const rates = runs.map((r) => r.podsPerSecond).sort((a, b) => a - b);
  return { nodes: o.nodes, pods: o.pods, shape: o.shape ?? "pipeline", processes: runs[0]!.processes, runs, min: rates[0]!, median: rates[Math.floor(rates.length / 2)]!, max: rates[rates.length - 1]! };
}

if (import.meta.url === `file://${process.argv[1]}` && (process.argv[2] === STORE_ONLY || process.argv[2] === SCHEDULER_ONLY)) {
  const pct = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
  const actor = process.argv[2] === STORE_ONLY ? { def: storeActor, opts: {} } : { def: scheduler, opts: { percentageOfNodesToScore: pct } };
  const host = await startHost({ natsUrl: process.argv[3]!, cluster: process.argv[4]!, actors: [actor] });
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => void host.stop().then(() => process.exit(0)));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const nodes = process.argv[2] ? [Number(process.argv[2])] : [1000, 5000];
  const pods = Number(process.argv[3] ?? 10_000);
  const runs = Number(process.argv[4] ?? 3);
  const shape = (process.argv[5] ?? "pipeline") as SchedulerShape;
  const storeProcesses = Number(process.env.BENCH_STORE_PROCESSES ?? 1);
  const rows = [];
  for (const n of nodes) rows.push(await benchSchedulerRuns({ nodes: n, pods, storeProcesses, runs, shape }));
  console.table(rows.map((r) => ({ nodes: r.nodes, pods: r.pods, shape: r.shape, "pods/s min": r.min, "median": r.median, "max": r.max, "kube-scheduler threshold (published)": schedulerGate(r.nodes, r.pods)?.value ?? "none for this shape" })));
  console.log(rows[0]?.processes);
}
