/**
 * Control-plane memory, read from /proc: the `flotilla up` process and everything it started
 * (nats-server included).
 *
 * - idle: one node, after `idleSeconds` with nothing to do (anchor: k3s server ~500 MB idle);
 * - at scale: `flotilla up --nodes 0` plus N simulated nodes in a separate process, then P pods
 *   created through the store until all are Running (events feed). RSS is sampled every second:
 *   the figure is the peak of the control plane + nats-server, with each process's own peak
 *   beside it. When the time budget runs out first, the per-pod slope measured so far is
 *   extrapolated to P and the result says so.
 *
 * @example
 *   await benchIdleMemory({ idleSeconds: 20 });              // { totalMb, parts }
 *   await benchScaleMemory({ nodes: 1000, pods: 30000, budgetMs: 180_000 });
 */
import type { Pod } from "../bus/resources.ts";
import { connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { subjects } from "../bus/subjects.ts";
import { decode } from "../bus/codec.ts";
import { ErrorCode, isCode } from "../bus/errors.ts";
import { dockerAnswers } from "../cli/up.ts";
import { spawnUp } from "./lib/cluster-process.ts";
import { spawnNodePool } from "./node-pool.ts";
import { NODE_POOL_LEASE_SECONDS } from "../actors/kubelet/pool.ts";
import { treeRss, sumMb, treeCpu, coresUsed } from "./lib/proc.ts";
import { runAsMain } from "./lib/main.ts";

type Progress = (f: number, what: string) => void;

const RETRYABLE = [ErrorCode.Timeout, ErrorCode.Unavailable, ErrorCode.TooManyRequests];

function parts(pid: number): { totalMb: number; parts: Record<string, number> } {
  const procs = treeRss(pid);
  const byName: Record<string, number> = {};
  for (const p of procs) byName[p.comm] = Math.round((byName[p.comm] ?? 0) + p.mb);
  return { totalMb: sumMb(procs), parts: byName };
}

export async function benchIdleMemory(o: { idleSeconds: number; onProgress?: Progress }) {
  const engine = (await dockerAnswers()) ? "docker" : "process";
  const c = await spawnUp({ nodes: 1, engine });
  try {
    const t0 = Date.now();
    while (Date.now() - t0 < o.idleSeconds * 1000) {
      o.onProgress?.((Date.now() - t0) / (o.idleSeconds * 1000), "idle");
      await new Promise((r) => setTimeout(r, 1000));
    }
    return { engine, idleSeconds: o.idleSeconds, ...parts(c.pid) };
  } finally {
    await c.stop();
  }
}

export interface ScaleMemory {
  nodes: number;
  podsTarget: number;
  podsRunning: number;
  seconds: number;
  /** Control plane + nats-server with the nodes registered and no pods. */
  baseMb: number;
  /** Measured with `podsRunning` pods. */
  measuredMb: number;
  /** The peak (sampled every second), or extrapolated to podsTarget when not every pod could run within the budget. */
  totalMb: number;
  extrapolated: boolean;
  /** From the first create to the last pod Running (undefined when not all ran). */
  allRunningSeconds?: number;
  nodesProcessMb: number;
  /** Creates asked again after a time-out or a full mailbox. */
  retriedCreates?: number;
  /** Pods created but not yet Running, at most, at any time. */
  maxNotRunning?: number;
  /** The simulated nodes' Lease duration (each renews it three times per duration). */
  nodeLeaseSeconds?: number;
  /** The control plane's leader-election lease (`--lease-ms`), when not the default. */
  leaderLeaseMs?: number;
  /** The control plane process's V8 heap limit, when raised. */
  heapMb?: number;
  /** Each process's peak RSS (by command name), the simulated nodes' process included. */
  peaks: Record<string, number>;
  /**
   * Every 30 s from the first create: pods created and Running, and the cores each process used in
   * that stretch (CPU seconds / wall seconds, from /proc), so a slow stretch shows which process
   * was busy and which waited.
   */
  timeline?: TimelinePoint[];
  parts: Record<string, number>;
}

export interface TimelinePoint {
  t: number;
  created: number;
  running: number;
  cores: Record<string, number>;
}

/** CPU seconds per named part: the control plane's tree by command, the simulated nodes' process apart. */
function cpuByPart(controlPlane: number, nodes: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(treeCpu(controlPlane))) out[name === "node" ? "flotilla up (node)" : name] = s;
  if (nodes) out["simulated nodes (node)"] = Object.values(treeCpu(nodes)).reduce((a, b) => a + b, 0);
  return out;
}

/** Every `everyMs`: the counts and the cores each part used since the last point. */
function timelineSampler(everyMs: number, counts: () => { created: number; running: number }, cpu: () => Record<string, number>) {
  const points: TimelinePoint[] = [];
  const t0 = Date.now();
  let last = { at: t0, cpu: cpu() };
  const sample = () => {
    const now = { at: Date.now(), cpu: cpu() };
    const wall = (now.at - last.at) / 1000;
    if (wall < 1) return;
    points.push({ t: Math.round((now.at - t0) / 1000), ...counts(), cores: coresUsed(last.cpu, now.cpu, wall) });
    last = now;
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return points;
    },
  };
}

/** Samples a process tree's RSS every second: the peak of the whole tree and of each command. */
function peakSampler(pids: () => number[]) {
  let total = 0;
  const byName: Record<string, number> = {};
  const sample = () => {
    let sum = 0;
    for (const pid of pids()) {
      const p = parts(pid);
      sum += p.totalMb;
      for (const [name, mb] of Object.entries(p.parts)) byName[name] = Math.max(byName[name] ?? 0, mb);
    }
    total = Math.max(total, sum);
  };
  const timer = setInterval(sample, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { totalMb: Math.round(total), byName };
    },
  };
}

/**
 * Pods created but not yet Running, at most (ClusterLoader2 also paces its creates rather than
 * flooding): past it every queue of the one-process control plane grows, and a leader's renewal
 * waits behind them past its deadline.
 */
export const MAX_NOT_RUNNING = 5000;

export async function benchScaleMemory(o: { nodes: number; pods: number; budgetMs: number; inFlight?: number; maxNotRunning?: number; nodeLeaseSeconds?: number; leaderLeaseMs?: number; heapMb?: number; onProgress?: Progress }): Promise<ScaleMemory> {
  const maxNotRunning = o.maxNotRunning ?? MAX_NOT_RUNNING;
  const c = await spawnUp({ nodes: 0, engine: "simulated", leaseMs: o.leaderLeaseMs, heapMb: o.heapMb });
  const t0 = Date.now();
  let pool: Awaited<ReturnType<typeof spawnNodePool>> | undefined;
  let nc: Awaited<ReturnType<typeof connectNats>> | undefined;
  try {
    // Inside the try: a connection that fails still stops the cluster (and its nats-server).
    nc = await connectNats(c.natsUrl, "bench-memory", c.adminCredentials);
    const store = new StoreClient(nc, c.cluster, 60_000);
    pool = await spawnNodePool({ natsUrl: c.natsUrl, cluster: c.cluster, count: o.nodes, credentials: c.adminCredentials, leaseDurationSeconds: o.nodeLeaseSeconds });
    o.onProgress?.(0.05, `${o.nodes} nodes registered`);
    const base = parts(c.pid).totalMb;
    const controlPlane = peakSampler(() => [c.pid]);
    const nodesPeak = peakSampler(() => [pool!.child.pid!]);
    const running = new Set<string>();
    let created = 0;
    const timeline = timelineSampler(30_000, () => ({ created, running: running.size }), () => cpuByPart(c.pid, pool?.child.pid));
    const firstCreate = Date.now();
    let allRunningAt: number | undefined;
    const sub = nc.subscribe(subjects(c.cluster).events("pods", "default"), {
      callback: (_e, m) => {
        if (m.data.length === 0) return;
        const p = decode<Pod>(m.data);
        if (p.status?.phase === "Running") running.add(p.metadata.name!);
        if (running.size === o.pods && allRunningAt === undefined) allRunningAt = Date.now();
      },
    });
    const deadline = t0 + o.budgetMs;
    // Leave a little of the budget for the last pods to start.
    const createUntil = t0 + o.budgetMs * 0.93;
    let retried = 0;
    // A create the store could not confirm in time (a busy JetStream) is asked again; AlreadyExists
    // then means the first one landed.
    const createPod = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await store.create("pods", "default", {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `mem-${i}`, labels: { app: `app-${i % 100}` } },
            spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] },
          } as Pod);
          return;
        } catch (e) {
          if (attempt > 0 && isCode(e, ErrorCode.AlreadyExists)) return;
          if (attempt >= 5 || !RETRYABLE.some((code) => isCode(e, code))) throw e;
          retried++;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
    };
    await Promise.all(
      Array.from({ length: o.inFlight ?? 64 }, async () => {
        while (created < o.pods && Date.now() < createUntil) {
          if (created - running.size >= maxNotRunning) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          const i = created++;
          await createPod(i);
          if (i % 500 === 0) o.onProgress?.(0.05 + 0.85 * (running.size / o.pods), `${running.size}/${o.pods} pods Running`);
        }
      }),
    );
    while (running.size < created && Date.now() < deadline) {
      o.onProgress?.(0.05 + 0.85 * (running.size / o.pods), `${running.size}/${o.pods} pods Running`);
      await new Promise((r) => setTimeout(r, 250));
    }
    sub.unsubscribe();
    const measured = parts(c.pid);
    const peak = controlPlane.stop();
    const nodesProcess = nodesPeak.stop();
    const points = timeline.stop();
    const podsRunning = running.size;
    const extrapolated = podsRunning < o.pods;
    const slope = podsRunning > 0 ? (measured.totalMb - base) / podsRunning : 0;
    const totalMb = extrapolated ? Math.round(measured.totalMb + slope * (o.pods - podsRunning)) : peak.totalMb;
    o.onProgress?.(1, "measured");
    return {
      nodes: o.nodes,
      podsTarget: o.pods,
      podsRunning,
      seconds: (Date.now() - t0) / 1000,
      allRunningSeconds: allRunningAt === undefined ? undefined : (allRunningAt - firstCreate) / 1000,
      baseMb: base,
      measuredMb: measured.totalMb,
      totalMb,
      extrapolated,
      nodesProcessMb: nodesProcess.totalMb,
      retriedCreates: retried,
      maxNotRunning,
      nodeLeaseSeconds: o.nodeLeaseSeconds ?? NODE_POOL_LEASE_SECONDS,
      leaderLeaseMs: o.leaderLeaseMs,
      heapMb: o.heapMb,
      peaks: { ...peak.byName, "simulated nodes (node)": nodesProcess.totalMb },
      timeline: points,
      parts: measured.parts,
    };
  } finally {
    await nc?.close();
    await pool?.stop();
    await c.stop();
  }
}

// node --import tsx bench/memory.ts <nodes> <pods> <budget seconds> [node lease seconds] [leader lease ms] [heap MB]: one scale run, its result as JSON.
// A fifth argument sets the simulated nodes' Lease duration in seconds (default the kubelet's, 10).
runAsMain(import.meta.url, () =>
  benchScaleMemory({ nodes: Number(process.argv[2] ?? 1000), pods: Number(process.argv[3] ?? 10_000), budgetMs: Number(process.argv[4] ?? 60) * 1000, nodeLeaseSeconds: process.argv[5] ? Number(process.argv[5]) : undefined, leaderLeaseMs: process.argv[6] ? Number(process.argv[6]) : undefined, heapMb: process.argv[7] ? Number(process.argv[7]) : undefined }),
);
