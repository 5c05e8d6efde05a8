/**
 * NodeAffinity: spec.nodeSelector and required node affinity (`In`, `NotIn`, `Exists`,
 * `DoesNotExist`, `Gt`, `Lt`; terms are ORed, expressions within a term ANDed) as a filter;
 * preferred node affinity (sum of the weights of matching terms) as a score.
 */
import type { Labels, NodeSelectorRequirement, NodeSelectorTerm } from "../../../bus/resources.ts";
import type { FilterPlugin, NodeInfo, PodInfo, ScorePlugin } from "../types.ts";
import { maxNormalize } from "./normalize.ts";

export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";

function matchesRequirement(r: NodeSelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(v!);
    case "NotIn":
      return !has || !values.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || values.length !== 1) return false;
      const a = Number.parseInt(v!, 10);
      const b = Number.parseInt(values[0]!, 10);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return r.operator === "Gt" ? a > b : a < b;
    }
  }
}

/** A term matches when all its expressions (labels) and fields (metadata.name) match; an empty term matches nothing. */
export function matchesTerm(t: NodeSelectorTerm, node: Pick<NodeInfo, "labels" | "name">): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => matchesRequirement(r, node.labels)) && fields.every((r) => matchesRequirement(r, { [r.key]: r.key === "metadata.name" ? node.name : "" }));
}

/** nodeSelector and required node affinity: does the pod accept this node at all? */
export function nodeMatchesPod(pod: PodInfo, node: NodeInfo): boolean {
  if (pod.nodeSelector) {
    for (const k in pod.nodeSelector) if (node.labels[k] !== pod.nodeSelector[k]) return false;
  }
  const terms = pod.requiredNodeTerms;
  if (terms && !terms.some((t) => matchesTerm(t, node))) return false;
  return true;
}

export const nodeAffinity: FilterPlugin<true> = {
  name: "NodeAffinity",
  preFilter: (pod) => (pod.nodeSelector || pod.requiredNodeTerms ? true : undefined),
  filter: (_s, pod, node) => (nodeMatchesPod(pod, node) ? undefined : [REASON_NODE_AFFINITY]),
};

export const nodeAffinityScore: ScorePlugin<NonNullable<PodInfo["preferredNodeTerms"]>> = {
  name: "NodeAffinity",
  weight: 2,
  preScore: (pod) => (pod.preferredNodeTerms && pod.preferredNodeTerms.length > 0 ? pod.preferredNodeTerms : undefined),
  score: (terms, _pod, node) => {
    let s = 0;
    for (const t of terms) if (t.weight !== 0 && matchesTerm(t.preference, node)) s += t.weight;
    return s;
  },
  normalize: maxNormalize,
};
