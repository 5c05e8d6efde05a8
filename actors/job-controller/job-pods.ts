/**
 * The pods of a Job: how they are made (template, tracking finalizer, completion index), what a
 * finished pod says (exit codes, finish time), which podFailurePolicy rule a failure matches, and
 * the `completedIndexes` text format ("0,2-4,7").
 */
import type { Job, JobSpec, Pod, PodFailurePolicyRule } from "../../bus/resources.ts";
import { ownerReference } from "../workloads/revisions.ts";

/** Held on every Job pod until the controller has counted it (batch/v1 JobTrackingFinalizer). */
export const TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
export const COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
export const COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";

export const isIndexed = (spec: JobSpec) => spec.completionMode === "Indexed";
export const isFinishedPod = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
export const hasTracking = (p: Pod) => (p.metadata.finalizers ?? []).includes(TRACKING_FINALIZER);

/** The completion index a pod carries (annotation), or undefined. */
export function indexOf(p: Pod): number | undefined {
  const v = p.metadata.annotations?.[COMPLETION_INDEX] ?? p.metadata.labels?.[COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** A pod for the Job (and, for Indexed Jobs, one completion index). */
export function jobPod(job: Job, index?: number): Pod {
  const t = job.spec.template;
  const spec = structuredClone(t.spec);
  const labels = { ...(t.metadata?.labels ?? {}) };
  const annotations = { ...(t.metadata?.annotations ?? {}) };
  let generateName = `${job.metadata.name}-`;
  if (index !== undefined) {
    generateName = `${job.metadata.name}-${index}-`;
    labels[COMPLETION_INDEX] = String(index);
    annotations[COMPLETION_INDEX] = String(index);
    spec.hostname ??= `${job.metadata.name}-${index}`;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      if ((c.env ?? []).some((e) => e.name === COMPLETION_INDEX_ENV)) continue;
      c.env = [...(c.env ?? []), { name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } }];
    }
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName,
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      finalizers: [...(t.metadata?.finalizers ?? []), TRACKING_FINALIZER],
      ownerReferences: [ownerReference({ ...job, template: t })],
    },
    spec,
  };
}

/** When a finished pod finished (its last container's finish time, else its last transition). */
export function finishedAt(p: Pod): number {
  const times = (p.status?.containerStatuses ?? [])
    .map((c) => Date.parse(c.state?.terminated?.finishedAt ?? ""))
    .filter((t) => !Number.isNaN(t));
  if (times.length) return Math.max(...times);
  const cond = (p.status?.conditions ?? []).map((c) => Date.parse(c.lastTransitionTime ?? "")).filter((t) => !Number.isNaN(t));
  return cond.length ? Math.max(...cond) : Date.parse(p.metadata.creationTimestamp ?? "") || 0;
}

export interface RuleMatch {
  index: number;
  rule: PodFailurePolicyRule;
  /** "Container main for pod default/x failed with exit code 42 matching FailJob rule at index 0". */
  message: string;
}

/** The first podFailurePolicy rule a failed pod matches (Kubernetes' matchPodFailurePolicy). */
export function matchFailurePolicy(job: Job, p: Pod): RuleMatch | undefined {
  const rules = job.spec.podFailurePolicy?.rules ?? [];
  const who = `${p.metadata.namespace}/${p.metadata.name}`;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const codes = rule.onExitCodes;
    if (codes) {
      for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
        if (codes.containerName && codes.containerName !== c.name) continue;
        const code = c.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const hit = codes.operator === "In" ? codes.values.includes(code) : !codes.values.includes(code);
        if (hit) return { index: i, rule, message: `Container ${c.name} for pod ${who} failed with exit code ${code} matching ${rule.action} rule at index ${i}` };
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const c = (p.status?.conditions ?? []).find((x) => x.type === pattern.type && x.status === (pattern.status ?? "True"));
      if (c) return { index: i, rule, message: `Pod ${who} has condition ${pattern.type} matching ${rule.action} rule at index ${i}` };
    }
  }
  return undefined;
}

/** "1,3-5,7" from a set of indexes (three or more in a row become a range). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}-${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(",");
}

export function parseIndexes(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? "").split(",").filter(Boolean)) {
    const [a, b] = part.split("-").map(Number);
    if (b === undefined) out.add(a!);
    else for (let i = a!; i <= b; i++) out.add(i);
  }
  return out;
}
