/**
 * PodDisruptionBudget arithmetic (pure): a budget's status from the pods it selects, and whether an
 * eviction may go ahead (policy/v1, as the disruption controller and the eviction subresource
 * compute them).
 *
 * @example
 *   const status = budgetStatus(pdb, podsInNamespace, now);
 *   const verdict = evictionVerdict(pdb, pod); // { allow: true, charge: true } or { allow: false, message }
 */
import type { KubeObject, LabelSelector, Pod } from "./resources.ts";
import { matchesSelector } from "./selectors.ts";

export interface PodDisruptionBudget extends KubeObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector; unhealthyPodEvictionPolicy?: string };
  status?: PodDisruptionBudgetStatus;
}
export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number }[];
}

/** How long a pod the eviction subresource let go counts as disrupted while it still exists. */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const terminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** An int or a percentage of `total` ("50%": rounded up, as Kubernetes does for PDBs). */
export function scaled(v: number | string, total: number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

/** A selector that selects nothing when absent or empty (policy/v1: an empty selector matches every pod). */
export function selects(pdb: PodDisruptionBudget, p: Pod): boolean {
  if (!pdb.spec?.selector) return false;
  return matchesSelector(pdb.spec.selector, p.metadata.labels);
}

export function budgetStatus(pdb: PodDisruptionBudget, pods: readonly Pod[], now: Date): PodDisruptionBudgetStatus {
  const mine = pods.filter((p) => !terminal(p) && selects(pdb, p));
  const expected = mine.length;
  const disrupted: Record<string, string> = {};
  for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    const pod = mine.find((p) => p.metadata.name === name);
    if (pod && !pod.metadata.deletionTimestamp && now.getTime() - Date.parse(at) < DISRUPTED_POD_TIMEOUT_MS) disrupted[name] = at;
  }
  const healthy = mine.filter((p) => isReady(p) && !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted)).length;
  const spec = pdb.spec ?? {};
  const desired =
    spec.minAvailable !== undefined
      ? scaled(spec.minAvailable, expected)
      : spec.maxUnavailable !== undefined
        ? Math.max(0, expected - scaled(spec.maxUnavailable, expected))
        : expected;
  const allowed = Math.max(0, healthy - desired);
  const old = pdb.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
  const cond = allowed > 0
    ? { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "" }
    : { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "" };
  const lastTransitionTime = old && old.status === cond.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z");
  return {
    observedGeneration: pdb.metadata.generation,
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
    conditions: [{ ...cond, lastTransitionTime, ...(pdb.metadata.generation !== undefined ? { observedGeneration: pdb.metadata.generation } : {}) }],
  };
}

export type EvictionVerdict =
  | { allow: true; charge: boolean }
  | { allow: false; code: "TooManyRequests" | "Internal"; message: string; cause?: string };

/**
 * May `pod` be evicted under `budgets` (the PDBs of its namespace)? A pod that is not running or
 * not ready, or that no budget covers, goes without charge; otherwise its one budget must allow a
 * disruption, and the eviction charges it.
 */
export function evictionVerdict(budgets: readonly PodDisruptionBudget[], pod: Pod): EvictionVerdict {
  if (terminal(pod) || pod.status?.phase === "Pending" || pod.metadata.deletionTimestamp) return { allow: true, charge: false };
  const mine = budgets.filter((b) => selects(b, pod));
  if (mine.length === 0) return { allow: true, charge: false };
  if (mine.length > 1) return { allow: false, code: "Internal", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." };
  const pdb = mine[0]!;
  const s = pdb.status;
  if (!isReady(pod) && s && s.currentHealthy >= s.desiredHealthy) return { allow: true, charge: false };
  const stale = s?.observedGeneration !== undefined && pdb.metadata.generation !== undefined && s.observedGeneration < pdb.metadata.generation;
  if (!s || stale || s.disruptionsAllowed <= 0) {
    return {
      allow: false,
      code: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      cause: `The disruption budget ${pdb.metadata.name} needs ${s?.desiredHealthy ?? 0} healthy pods and has ${s?.currentHealthy ?? 0} currently`,
    };
  }
  return { allow: true, charge: isReady(pod) };
}

/** The budget after one eviction: one disruption fewer, the pod noted as disrupted. */
export function charged(pdb: PodDisruptionBudget, podName: string, now: Date): PodDisruptionBudget {
  const s = pdb.status!;
  return {
    ...pdb,
    status: {
      ...s,
      disruptionsAllowed: s.disruptionsAllowed - 1,
      disruptedPods: { ...(s.disruptedPods ?? {}), [podName]: now.toISOString().replace(/\.\d+Z$/, "Z") },
    },
  };
}
