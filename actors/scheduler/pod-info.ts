/** Derives the scheduler's PodInfo from a Pod once per pod version (pure). */
import type { Labels, Pod, PodAffinityTerm, WeightedPodAffinityTerm, Container } from "../../bus/resources.ts";
import type { AffinityTerm, HostPort, PodInfo, Resources, SpreadConstraint } from "./types.ts";
import { milliCpu, units } from "../../bus/quantity.ts";
import { selectorRequirements, matchesRequirements } from "../../bus/selectors.ts";

export const DEFAULT_SCHEDULER = "default-scheduler";
/** Kubernetes' defaults for scoring containers that request nothing. */
export const DEFAULT_MILLI_CPU = 100;
export const DEFAULT_MEMORY = 200 * 1024 * 1024;

function containerRequests(c: Container): Resources {
  const r = c.resources?.requests ?? {};
  const l = c.resources?.limits ?? {};
  // As in Kubernetes: a limit without a request defaults the request.
  return { cpu: milliCpu(r.cpu ?? l.cpu), memory: units(r.memory ?? l.memory) };
}

/** Effective requests: max(sum of app containers, largest init container). */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const sum = { cpu: 0, memory: 0 };
  for (const c of pod.spec.containers ?? []) {
    const r = containerRequests(c);
    sum.cpu += nonZero && r.cpu === 0 ? DEFAULT_MILLI_CPU : r.cpu;
    sum.memory += nonZero && r.memory === 0 ? DEFAULT_MEMORY : r.memory;
  }
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c);
    sum.cpu = Math.max(sum.cpu, r.cpu);
    sum.memory = Math.max(sum.memory, r.memory);
  }
  return sum;
}

function hostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ protocol: p.protocol ?? "TCP", ip: p.hostIP || "0.0.0.0", port: p.hostPort });
    }
  }
  return out;
}

function term(t: PodAffinityTerm, ownNamespace: string, weight = 0): AffinityTerm {
  let namespaces: Set<string> | null = new Set(t.namespaces ?? []);
  const nsSel = t.namespaceSelector;
  // An empty namespaceSelector ({}) selects every namespace; label-based selection of namespaces is not
  // supported (the scheduler does not watch Namespaces), so a non-empty one is treated like {}.
  if (nsSel) namespaces = null;
  else if (namespaces.size === 0) namespaces.add(ownNamespace);
  return { reqs: selectorRequirements(t.labelSelector ?? { matchLabels: {} }), namespaces, topologyKey: t.topologyKey, weight };
}

function weighted(ts: WeightedPodAffinityTerm[] | undefined, ns: string): AffinityTerm[] {
  return (ts ?? []).map((w) => term(w.podAffinityTerm, ns, w.weight));
}

/** A pod affinity term without labelSelector matches nothing, as in Kubernetes. */
function required(ts: PodAffinityTerm[] | undefined, ns: string): AffinityTerm[] {
  return (ts ?? []).filter((t) => t.labelSelector).map((t) => term(t, ns));
}

function spreadConstraints(pod: Pod): SpreadConstraint[] {
  return (pod.spec.topologySpreadConstraints ?? []).map((c) => ({
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    hard: c.whenUnsatisfiable === "DoNotSchedule",
    reqs: selectorRequirements(c.labelSelector ?? { matchLabels: {} }),
    minDomains: c.minDomains ?? 1,
  }));
}

export function podInfo(pod: Pod): PodInfo {
  const ns = pod.metadata.namespace ?? "default";
  const a = pod.spec.affinity;
  const created = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : 0;
  return {
    key: `${ns}/${pod.metadata.name}`,
    uid: pod.metadata.uid ?? "",
    namespace: ns,
    name: pod.metadata.name ?? "",
    labels: pod.metadata.labels ?? {},
    nodeName: pod.spec.nodeName || undefined,
    schedulerName: pod.spec.schedulerName || DEFAULT_SCHEDULER,
    priority: pod.spec.priority ?? 0,
    creation: Number.isFinite(created) ? created : 0,
    requests: podRequests(pod),
    nonZero: podRequests(pod, true),
    ports: hostPorts(pod),
    tolerations: pod.spec.tolerations ?? [],
    nodeSelector: pod.spec.nodeSelector && Object.keys(pod.spec.nodeSelector).length > 0 ? pod.spec.nodeSelector : undefined,
    requiredNodeTerms: a?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    preferredNodeTerms: a?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
    requiredAffinity: required(a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution, ns),
    requiredAntiAffinity: required(a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, ns),
    preferredAffinity: weighted(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution, ns),
    preferredAntiAffinity: weighted(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, ns),
    spread: spreadConstraints(pod),
    terminal: pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed",
    pod,
  };
}

/** Whether an affinity term selects pod p (namespace and labels). */
export function termMatches(t: AffinityTerm, p: { namespace: string; labels: Labels }): boolean {
  return (t.namespaces === null || t.namespaces.has(p.namespace)) && matchesRequirements(t.reqs, p.labels);
}
