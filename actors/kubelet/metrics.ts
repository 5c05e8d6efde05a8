/**
 * The kubelet's metrics: every `intervalMs` (default 10 s) it samples the engine's containers
 * (cumulative cpu time, working set) and the node, turns two consecutive samples into rates
 * (nanocores over the window, as the kubelet's summary API does) and publishes one
 * `NodeMetricsReport` on `…metrics.<node>` (bus/metrics.ts). The node's usage comes from
 * /proc/stat (non-idle jiffies) and /proc/meminfo (MemTotal − MemAvailable) on the docker and
 * process engines — the machine's, shared by every kubelet that runs on it — and is the sum of its
 * pods on the simulated engine. The first report follows the first sample by `firstWindowMs`
 * (1 s), so `kubectl top` has numbers soon after a kubelet starts.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Subjects } from "../../bus/subjects.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { Engine, ContainerUsage } from "./engines/types.ts";
import type { NodeMetricsReport, PodMetricsReport } from "../../bus/metrics.ts";
import { readFileSync } from "node:fs";
import { encode } from "../../bus/codec.ts";
import { rfc3339 } from "../../bus/time.ts";

/** A cumulative sample: cpu time so far (ns) and the memory in use then. */
export interface Sample {
  at: number;
  cpuNanos: number;
  memoryWorkingSetBytes: number;
}

export interface Snapshot {
  node: Sample | undefined;
  containers: ContainerUsage[];
}

/** Nanocores between two samples; undefined without an earlier one or with a counter reset. Pure. */
export function nanoCores(prev: Pick<Sample, "at" | "cpuNanos"> | undefined, cur: Pick<Sample, "at" | "cpuNanos">): number | undefined {
  if (!prev || cur.at <= prev.at || cur.cpuNanos < prev.cpuNanos) return undefined;
  return Math.round(((cur.cpuNanos - prev.cpuNanos) * 1000) / (cur.at - prev.at));
}

/**
 * The report of two snapshots. Containers measured in both (same engine id) get a rate; a pod is
 * reported with the containers that have one. Without a node sample the node is its pods' sum. Pure.
 */
export function buildReport(nodeName: string, prev: Snapshot, cur: Snapshot): NodeMetricsReport | undefined {
  const before = new Map(prev.containers.map((c) => [c.id, c]));
  const pods = new Map<string, PodMetricsReport>();
  let windowMs = 0;
  for (const c of cur.containers) {
    const p = before.get(c.id);
    const rate = p && nanoCores({ at: p.at, cpuNanos: p.cpuUsageNanos }, { at: c.at, cpuNanos: c.cpuUsageNanos });
    if (rate === undefined) continue;
    windowMs = Math.max(windowMs, c.at - p!.at);
    const pod = pods.get(c.pod.uid) ?? { namespace: c.pod.namespace, name: c.pod.name, uid: c.pod.uid, containers: [] };
    pod.containers.push({ name: c.name, cpuNanoCores: rate, memoryWorkingSetBytes: c.memoryWorkingSetBytes });
    pods.set(c.pod.uid, pod);
  }
  const list = [...pods.values()];
  let usage: NodeMetricsReport["usage"];
  const nodeRate = cur.node && nanoCores(prev.node, cur.node);
  if (cur.node && nodeRate !== undefined) {
    usage = { cpuNanoCores: nodeRate, memoryWorkingSetBytes: cur.node.memoryWorkingSetBytes };
    windowMs = cur.node.at - prev.node!.at;
  } else if (!cur.node) {
    const all = list.flatMap((p) => p.containers);
    usage = { cpuNanoCores: all.reduce((a, c) => a + c.cpuNanoCores, 0), memoryWorkingSetBytes: all.reduce((a, c) => a + c.memoryWorkingSetBytes, 0) };
  } else return undefined;
  const at = Math.max(cur.node?.at ?? 0, ...cur.containers.map((c) => c.at));
  return { type: "node.metrics", node: nodeName, timestamp: rfc3339(at), windowSeconds: Math.max(1, Math.round(windowMs / 1000)), usage, pods: list };
}

/** Non-idle cpu time of /proc/stat's `cpu` line (USER_HZ = 100) and MemTotal − MemAvailable. Pure. */
export function hostSample(stat: string, meminfo: string, at: number): Sample | undefined {
  const cpu = /^cpu\s+(.*)$/m.exec(stat)?.[1]?.trim().split(/\s+/).map(Number);
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s*kB`, "m").exec(meminfo)?.[1]);
  if (!cpu || cpu.length < 5) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const total_ = kb("MemTotal");
  const avail = kb("MemAvailable");
  if (!Number.isFinite(total_) || !Number.isFinite(avail)) return undefined;
  return { at, cpuNanos: (total - idle) * 10_000_000, memoryWorkingSetBytes: (total_ - avail) * 1024 };
}

function readHost(now: number): Sample | undefined {
  try {
    return hostSample(readFileSync("/proc/stat", "utf8"), readFileSync("/proc/meminfo", "utf8"), now);
  } catch {
    return undefined;
  }
}

export interface MetricsReporterOptions {
  nc: NatsConnection;
  subjects: Subjects;
  nodeName: string;
  engine: Engine;
  log: Logger;
  intervalMs?: number;
  firstWindowMs?: number;
}

export function startMetricsReporter(o: MetricsReporterOptions): { stop(): void } {
  const stats = o.engine.stats?.bind(o.engine);
  if (!stats) return { stop() {} };
  const host = o.engine.name !== "simulated";
  let prev: Snapshot | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let ticks = 0;
  const tick = async () => {
    try {
      const cur: Snapshot = { containers: await stats(), node: host ? readHost(Date.now()) : undefined };
      const report = prev && buildReport(o.nodeName, prev, cur);
      prev = cur;
      if (report && !stopped) o.nc.publish(o.subjects.nodeMetrics(o.nodeName), encode(report));
      failures = 0;
    } catch (e) {
      if (failures++ === 0) o.log.warn("metrics sample failed", { error: (e as Error).message });
    }
    if (!stopped) {
      timer = setTimeout(() => void tick(), ticks++ === 0 ? (o.firstWindowMs ?? 1000) : (o.intervalMs ?? 10_000));
      timer.unref();
    }
  };
  void tick();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
