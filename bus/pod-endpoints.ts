/**
 * What both endpoint controllers (Endpoints and EndpointSlices) read from a pod: readiness,
 * whether it may be an endpoint at all, and the port a service port reaches on it. Pure.
 */
import type { Pod, ServicePort } from "./resources.ts";
import { POD_PORTS_ANNOTATION } from "./service-links.ts";

export function podIsReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Pods that may appear at all: scheduled, with an IP, not finished, not being deleted. */
export function eligible(pod: Pod, publishNotReady: boolean): boolean {
  if (!pod.status?.podIP) return false;
  if (pod.status.phase === "Succeeded" || pod.status.phase === "Failed") return false;
  if (pod.metadata.deletionTimestamp && !publishNotReady) return false;
  return true;
}

function hostPorts(pod: Pod): Record<string, number> {
  const raw = pod.metadata.annotations?.[POD_PORTS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== "object" || v === null) return {};
    const out: Record<string, number> = {};
    for (const [k, p] of Object.entries(v)) if (typeof p === "number" && Number.isInteger(p)) out[k] = p;
    return out;
  } catch {
    return {};
  }
}

/** The container port a service port targets on this pod, or undefined when a named port is missing. */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  const target = sp.targetPort ?? sp.port;
  const protocol = sp.protocol ?? "TCP";
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  }
  return undefined;
}

/** The port to dial: the host port the kubelet reported for it, else the container port. */
export function reachablePort(pod: Pod, containerPort: number): number {
  return hostPorts(pod)[String(containerPort)] ?? containerPort;
}

/** JSON with object keys sorted, so that a stored copy compares equal whatever its key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
