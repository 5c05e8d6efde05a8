/**
 * PodTopologySpread: for each DoNotSchedule constraint, placing the pod in the node's domain must
 * keep (matching pods in that domain + self − the minimum over eligible domains) ≤ maxSkew; a node
 * without the topology label is rejected. Eligible domains are those of nodes the pod's
 * nodeSelector/affinity accepts (nodeAffinityPolicy Honor). As a score, ScheduleAnyway constraints
 * prefer domains with fewer matching pods.
 */
import type { FilterPlugin, NodeInfo, PodInfo, ScorePlugin, SnapshotView, SpreadConstraint } from "../types.ts";
import { matchesRequirements } from "../../../bus/selectors.ts";
import { countByDomain } from "./topology.ts";
import { nodeMatchesPod } from "./node-affinity.ts";
import { reverseNormalize } from "./normalize.ts";

export const REASON_SPREAD = "node(s) didn't match pod topology spread constraints";
export const REASON_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

interface ConstraintState {
  c: SpreadConstraint;
  counts: Map<string, number>;
  min: number;
  self: number;
}

function eligibleDomains(pod: PodInfo, snap: SnapshotView, key: string): Iterable<string> {
  if (!pod.nodeSelector && !pod.requiredNodeTerms) return snap.domains(key).keys();
  const out = new Set<string>();
  for (const n of snap.nodeList) {
    const d = n.labels[key];
    if (d !== undefined && nodeMatchesPod(pod, n)) out.add(d);
  }
  return out;
}

function constraintState(pod: PodInfo, snap: SnapshotView, c: SpreadConstraint): ConstraintState {
  const honor = pod.nodeSelector || pod.requiredNodeTerms ? (n: NodeInfo) => nodeMatchesPod(pod, n) : undefined;
  const found = countByDomain(snap, new Set([pod.namespace]), c.reqs, c.topologyKey, honor);
  const counts = new Map<string, number>();
  let min = Infinity;
  for (const d of eligibleDomains(pod, snap, c.topologyKey)) {
    const n = found.get(d) ?? 0;
    counts.set(d, n);
    if (n < min) min = n;
  }
  if (counts.size < c.minDomains || min === Infinity) min = 0;
  return { c, counts, min, self: matchesRequirements(c.reqs, pod.labels) ? 1 : 0 };
}

export const podTopologySpread: FilterPlugin<ConstraintState[]> = {
  name: "PodTopologySpread",
  preFilter: (pod, snap) => {
    const hard = pod.spread.filter((c) => c.hard);
    return hard.length > 0 ? hard.map((c) => constraintState(pod, snap, c)) : undefined;
  },
  filter: (states, _pod, node) => {
    for (const s of states) {
      const d = node.labels[s.c.topologyKey];
      if (d === undefined) return [REASON_SPREAD_LABEL];
      if ((s.counts.get(d) ?? 0) + s.self - s.min > s.c.maxSkew) return [REASON_SPREAD];
    }
    return undefined;
  },
};

export const podTopologySpreadScore: ScorePlugin<ConstraintState[]> = {
  name: "PodTopologySpread",
  weight: 2,
  preScore: (pod, snap) => {
    const soft = pod.spread.filter((c) => !c.hard);
    return soft.length > 0 ? soft.map((c) => constraintState(pod, snap, c)) : undefined;
  },
  score: (states, _pod, node) => {
    let s = 0;
    for (const st of states) {
      const d = node.labels[st.c.topologyKey];
      // A node outside every domain is the worst place to spread to.
      s += d === undefined ? st.counts.size + 1 + st.self : (st.counts.get(d) ?? 0);
    }
    return s;
  },
  normalize: reverseNormalize,
};
