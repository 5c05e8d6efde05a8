/**
 * Resource scores (Kubernetes' NodeResourcesFit LeastAllocated and NodeResourcesBalancedAllocation),
 * both on non-zero requests so pods without requests still spread:
 * - least allocated: mean over cpu and memory of free/allocatable after placing the pod;
 * - balanced allocation: 100 × (1 − |cpu fraction − memory fraction| / 2).
 */
import type { NodeInfo, PodInfo, ScorePlugin } from "../types.ts";
import { MAX_SCORE } from "./normalize.ts";

function fractions(pod: PodInfo, node: NodeInfo): [number, number] {
  const a = node.allocatable;
  const cpu = a.cpu > 0 ? (node.nonZeroRequested.cpu + pod.nonZero.cpu) / a.cpu : 1;
  const mem = a.memory > 0 ? (node.nonZeroRequested.memory + pod.nonZero.memory) / a.memory : 1;
  return [Math.min(cpu, 1), Math.min(mem, 1)];
}

export const leastAllocated: ScorePlugin<true> = {
  name: "NodeResourcesFit",
  weight: 1,
  preScore: () => true,
  score: (_s, pod, node) => {
    const [cpu, mem] = fractions(pod, node);
    return ((1 - cpu) * MAX_SCORE + (1 - mem) * MAX_SCORE) / 2;
  },
};

export const balancedAllocation: ScorePlugin<true> = {
  name: "NodeResourcesBalancedAllocation",
  weight: 1,
  preScore: () => true,
  score: (_s, pod, node) => {
    const [cpu, mem] = fractions(pod, node);
    return (1 - Math.abs(cpu - mem) / 2) * MAX_SCORE;
  },
};
