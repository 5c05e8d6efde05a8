/**
 * One scheduling decision, pure: snapshot + pod → a node (with the scores of the nodes ranked) or,
 * when nothing fits, the reasons each node was rejected for.
 *
 * Like kube-scheduler, it stops looking once it has found `numFeasibleNodesToFind` feasible nodes
 * (percentageOfNodesToScore; adaptive by default: 50% − nodes/125, at least 5% and 100 nodes),
 * starting where the previous search stopped, so successive pods look at different nodes. Every
 * filter runs on every node it looks at; scores run on the feasible nodes found.
 *
 * @example
 *   const d = schedule(snap, podInfo(pod), { startIndex: 0 });
 *   if ("node" in d) snap.assume(info, d.node); else console.log(fitErrorMessage(snap.nodeList.length, d.reasons));
 */
import type { FilterPlugin, NodeInfo, PodInfo, ScorePlugin, SnapshotView } from "./types.ts";
import { DEFAULT_FILTERS, DEFAULT_SCORES } from "./plugins/index.ts";

export interface ScheduleOptions {
  /** 1..100; unset or 0 = adaptive as in Kubernetes. */
  percentageOfNodesToScore?: number;
  /** Where to start looking (the caller advances it by `considered`). */
  startIndex?: number;
  /** Tie-break among equal best scores; unset = the first found. */
  random?: () => number;
  /** Keep the per-node scores in the result (default true). */
  recordScores?: boolean;
  filters?: readonly FilterPlugin<unknown>[];
  scores?: readonly ScorePlugin<unknown>[];
}

export type Decision =
  | { node: string; scores: Map<string, number>; considered: number; feasible: number }
  | { reasons: Map<string, string[]>; considered: number };

export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

export function numFeasibleNodesToFind(nodes: number, percentage?: number): number {
  if (nodes < MIN_FEASIBLE_NODES_TO_FIND || percentage === 100) return nodes;
  let pct = percentage ?? 0;
  if (pct <= 0) pct = Math.max(50 - nodes / 125, MIN_FEASIBLE_NODES_PERCENTAGE);
  const n = Math.floor((nodes * pct) / 100);
  return Math.min(nodes, Math.max(n, MIN_FEASIBLE_NODES_TO_FIND));
}

export function schedule(snap: SnapshotView, pod: PodInfo, opts: ScheduleOptions = {}): Decision {
  const nodes = snap.nodeList;
  const total = nodes.length;
  const reasons = new Map<string, string[]>();
  if (total === 0) return { reasons, considered: 0 };

  const filters: FilterPlugin<unknown>[] = [];
  const states: unknown[] = [];
  for (const f of opts.filters ?? DEFAULT_FILTERS) {
    const s = f.preFilter(pod, snap);
    if (s !== undefined) {
      filters.push(f);
      states.push(s);
    }
  }

  const want = numFeasibleNodesToFind(total, opts.percentageOfNodesToScore);
  const feasible: NodeInfo[] = [];
  const start = (opts.startIndex ?? 0) % total;
  let considered = 0;
  for (let i = 0; i < total && feasible.length < want; i++) {
    const node = nodes[(start + i) % total]!;
    considered++;
    let rejected: readonly string[] | undefined;
    for (let f = 0; f < filters.length && !rejected; f++) rejected = filters[f]!.filter(states[f], pod, node);
    if (rejected) reasons.set(node.name, [...rejected]);
    else feasible.push(node);
  }
  if (feasible.length === 0) return { reasons, considered };
  const record = opts.recordScores !== false;
  if (feasible.length === 1) {
    return { node: feasible[0]!.name, scores: record ? new Map([[feasible[0]!.name, 0]]) : new Map(), considered, feasible: 1 };
  }

  const totals = new Float64Array(feasible.length);
  const raw = new Float64Array(feasible.length);
  for (const p of opts.scores ?? DEFAULT_SCORES) {
    const s = p.preScore(pod, snap, feasible);
    if (s === undefined) continue;
    for (let j = 0; j < feasible.length; j++) raw[j] = p.score(s, pod, feasible[j]!);
    p.normalize?.(raw);
    for (let j = 0; j < feasible.length; j++) totals[j] += raw[j]! * p.weight;
  }

  let best = 0;
  let ties = 1;
  for (let j = 1; j < feasible.length; j++) {
    if (totals[j]! > totals[best]!) {
      best = j;
      ties = 1;
    } else if (totals[j] === totals[best] && opts.random) {
      // Reservoir sampling: each tied node is equally likely.
      ties++;
      if (opts.random() * ties < 1) best = j;
    }
  }
  const scores = new Map<string, number>();
  if (record) for (let j = 0; j < feasible.length; j++) scores.set(feasible[j]!.name, totals[j]!);
  return { node: feasible[best]!.name, scores, considered, feasible: feasible.length };
}

/**
 * Kubernetes' FailedScheduling message: "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had
 * untolerated taint {k: v}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for
 * scheduling." (reasons counted per node and sorted as strings, as kube-scheduler does).
 */
export function fitErrorMessage(totalNodes: number, reasons: ReadonlyMap<string, readonly string[]>): string {
  if (totalNodes === 0) return "no nodes available to schedule pods";
  const histogram = new Map<string, number>();
  for (const rs of reasons.values()) for (const r of rs) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  const parts = [...histogram].map(([r, n]) => `${n} ${r}`).sort();
  return (
    `0/${totalNodes} nodes are available: ${parts.join(", ")}. ` +
    `preemption: 0/${totalNodes} nodes are available: ${totalNodes} Preemption is not helpful for scheduling.`
  );
}
