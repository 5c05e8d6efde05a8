/** What the views show, computed from Kubernetes objects. Pure (the clock comes in as `now`). */
import type { Event, Node, Pod, PodPhase } from "../../../bus/resources.ts";
import { milliCpu, units } from "../../../bus/quantity.ts";

/** kubectl's short age: 45s, 12m, 3h, 5d. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return "—";
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export type NodeReadiness = "Ready" | "NotReady" | "Unknown";

export function nodeReadiness(node: Node): NodeReadiness {
  const c = node.status?.conditions?.find((x) => x.type === "Ready");
  return c?.status === "True" ? "Ready" : c?.status === "False" ? "NotReady" : "Unknown";
}

/** kubectl's STATUS column for a node: "Ready", "NotReady,SchedulingDisabled", … */
export function nodeStatusText(node: Node): string {
  return nodeReadiness(node) + (node.spec?.unschedulable ? ",SchedulingDisabled" : "");
}

/** kubectl's STATUS column for a pod. */
export function podStatus(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason && pod.status?.phase !== "Succeeded") return cs.state.terminated.reason;
  }
  return pod.status?.reason ?? pod.status?.phase ?? "Pending";
}

export function podRestarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

/** "ready/total" containers. */
export function podReady(pod: Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  return `${statuses.filter((c) => c.ready).length}/${pod.spec?.containers?.length ?? statuses.length}`;
}

const safe = (f: () => number): number => {
  try {
    return f();
  } catch {
    return 0;
  }
};

export interface Usage {
  used: number;
  total: number;
}

export interface Allocation {
  cpu: Usage; // millicores
  memory: Usage; // bytes
  pods: Usage;
}

const terminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** Requests of the non-terminated pods bound to a node against its allocatable (else capacity). */
export function allocation(node: Node, pods: readonly Pod[]): Allocation {
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  const mine = pods.filter((p) => p.spec?.nodeName === node.metadata.name && !terminal(p));
  let cpu = 0;
  let memory = 0;
  for (const p of mine) {
    for (const c of p.spec.containers ?? []) {
      cpu += safe(() => milliCpu(c.resources?.requests?.cpu));
      memory += safe(() => units(c.resources?.requests?.memory));
    }
  }
  return {
    cpu: { used: cpu, total: safe(() => milliCpu(alloc.cpu)) },
    memory: { used: memory, total: safe(() => units(alloc.memory)) },
    pods: { used: mine.length, total: safe(() => units(alloc.pods)) },
  };
}

/** 0–100, 0 when the total is unknown. */
export function percent(u: Usage): number {
  return u.total > 0 ? Math.min(100, Math.round((u.used / u.total) * 100)) : 0;
}

export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? `${milli / 1000}` : `${milli}m`;
}

export function formatMemory(bytes: number): string {
  if (bytes >= 2 ** 30) return `${+(bytes / 2 ** 30).toFixed(1)}Gi`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(0)}Mi`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(0)}Ki`;
  return `${bytes}`;
}

export const PHASES: readonly PodPhase[] = ["Running", "Pending", "Succeeded", "Failed", "Unknown"];

export function phaseCounts(pods: readonly Pod[]): Record<PodPhase, number> {
  const out: Record<PodPhase, number> = { Running: 0, Pending: 0, Succeeded: 0, Failed: 0, Unknown: 0 };
  for (const p of pods) out[p.status?.phase ?? "Pending"]++;
  return out;
}

/** When an event last happened. */
export function eventTime(e: Event): string | undefined {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? undefined;
}

/** Newest first. */
export function sortEvents(events: readonly Event[]): Event[] {
  const t = (e: Event) => Date.parse(eventTime(e) ?? "") || 0;
  return [...events].sort((a, b) => t(b) - t(a) || Number(b.metadata.resourceVersion ?? 0) - Number(a.metadata.resourceVersion ?? 0));
}

export interface EventFilter {
  namespace?: string;
  type?: "Normal" | "Warning" | "";
  text?: string;
}

export function filterEvents(events: readonly Event[], f: EventFilter): Event[] {
  const text = (f.text ?? "").trim().toLowerCase();
  return sortEvents(events).filter(
    (e) =>
      (!f.namespace || e.metadata.namespace === f.namespace) &&
      (!f.type || e.type === f.type) &&
      (!text ||
        [e.reason, e.message, e.involvedObject?.kind, e.involvedObject?.name].some((s) => (s ?? "").toLowerCase().includes(text))),
  );
}

/** kubectl's "1h2m" style for an actor's uptime in seconds. */
export function uptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export { jobStatusText as jobStatus, jobCompletions } from "../../../bus/job-status.ts";
