/**
 * Where a DaemonSet runs (Kubernetes' NodeShouldRunDaemonPod): the daemon pod — its template plus
 * the default DaemonSet tolerations — must accept the node by nodeName, nodeSelector, required node
 * affinity and NoSchedule/NoExecute taints. A node whose taints the pod no longer tolerates keeps
 * an existing pod unless a NoExecute taint is untolerated.
 */
import type { Node, Pod, PodSpec, PodTemplateSpec, Toleration, Affinity } from "../../bus/resources.ts";
import { tolerates } from "../scheduler/plugins/taint-toleration.ts";
import { matchesTerm } from "../scheduler/plugins/node-affinity.ts";

const NOT_READY = "node.kubernetes.io/not-ready";
const UNREACHABLE = "node.kubernetes.io/unreachable";

/** AddOrUpdateDaemonPodTolerations: daemons ride out node trouble and cordons. */
export function daemonTolerations(spec: PodSpec): Toleration[] {
  const add: Toleration[] = [
    { key: NOT_READY, operator: "Exists", effect: "NoExecute" },
    { key: UNREACHABLE, operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (spec.hostNetwork) add.push({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  const out = [...(spec.tolerations ?? [])];
  for (const t of add) {
    const i = out.findIndex((x) => x.key === t.key && x.effect === t.effect);
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/**
 * ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required node affinity becomes
 * `matchFields metadata.name In [node]` (ANDed into every existing term), so the scheduler can only
 * put it on that node.
 */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const field = { key: "metadata.name", operator: "In" as const, values: [nodeName] };
  const out = structuredClone(affinity ?? {});
  const na = (out.nodeAffinity ??= {});
  const terms = na.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  na.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: terms.length === 0 ? [{ matchFields: [field] }] : terms.map((t) => ({ ...t, matchFields: [field] })),
  };
  return out;
}

/** The node an unscheduled daemon pod is meant for (from its metadata.name node affinity). */
export function targetNode(p: Pod): string | undefined {
  if (p.spec.nodeName) return p.spec.nodeName;
  for (const t of p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of t.matchFields ?? []) if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

export interface Placement {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

export function placement(template: PodTemplateSpec, node: Node): Placement {
  const spec = template.spec;
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return no;
  const info = { labels: node.metadata.labels ?? {}, name: node.metadata.name ?? "" };
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (info.labels[k] !== v) return no;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => matchesTerm(t, info))) return no;
  const tolerations = daemonTolerations(spec);
  const untolerated = (node.spec?.taints ?? []).filter((t) => t.effect !== "PreferNoSchedule" && !tolerations.some((x) => tolerates(x, t)));
  if (untolerated.length === 0) return { shouldRun: true, shouldContinueRunning: true };
  return { shouldRun: false, shouldContinueRunning: !untolerated.some((t) => t.effect === "NoExecute") };
}
