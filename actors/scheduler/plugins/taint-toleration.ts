/**
 * TaintToleration: a node's NoSchedule/NoExecute taints must be tolerated (NotReady and unreachable
 * nodes carry such taints, so they are excluded here); as a score, fewer untolerated
 * PreferNoSchedule taints rank higher.
 */
import type { Taint, Toleration } from "../../../bus/resources.ts";
import type { FilterPlugin, ScorePlugin } from "../types.ts";
import { reverseNormalize } from "./normalize.ts";

export function tolerates(t: Toleration, taint: Pick<Taint, "key" | "value" | "effect">): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === "Exists") return true;
  if (!t.key) return false; // an empty key needs operator Exists
  return (t.value ?? "") === (taint.value ?? "");
}

export const untoleratedReason = (taint: Taint) => `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;

export const taintToleration: FilterPlugin<true> = {
  name: "TaintToleration",
  preFilter: () => true,
  filter: (_s, pod, node) => {
    for (const taint of node.taints) {
      if (taint.effect === "PreferNoSchedule") continue;
      if (!pod.tolerations.some((t) => tolerates(t, taint))) return [untoleratedReason(taint)];
    }
    return undefined;
  },
};

export const taintTolerationScore: ScorePlugin<true> = {
  name: "TaintToleration",
  weight: 3,
  preScore: () => true,
  score: (_s, pod, node) => {
    let n = 0;
    for (const taint of node.taints) {
      if (taint.effect === "PreferNoSchedule" && !pod.tolerations.some((t) => tolerates(t, taint))) n++;
    }
    return n;
  },
  normalize: reverseNormalize,
};
