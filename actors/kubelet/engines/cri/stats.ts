/**
 * Container usage from the runtime's `ListContainerStats` (what the kubelet's CRI stats provider
 * reads): cumulative cpu time (`usage_core_nano_seconds`) and the working set, stamped with the
 * runtime's own sample time so that rates between two samples are exact. Containers the runtime
 * has no numbers for (exited, or not sampled yet) are left out. Pure.
 */
import type { ContainerUsage } from "../types.ts";
import type * as Cri from "./types.ts";
import { nanosToMs } from "./client.ts";
import { Label, podOfLabels } from "./config.ts";

export function containerUsage(stats: readonly Cri.ContainerStats[], nowMs: number): ContainerUsage[] {
  const out: ContainerUsage[] = [];
  for (const s of stats) {
    const cpu = s.cpu?.usage_core_nano_seconds?.value;
    const mem = s.memory?.working_set_bytes?.value;
    if (!s.attributes || cpu === undefined || mem === undefined) continue;
    const l = s.attributes.labels;
    out.push({ id: s.attributes.id, pod: podOfLabels(l), name: l[Label.container] ?? s.attributes.metadata.name, cpuUsageNanos: Number(cpu), memoryWorkingSetBytes: Number(mem), at: nanosToMs(s.cpu!.timestamp) || nowMs });
  }
  return out;
}
