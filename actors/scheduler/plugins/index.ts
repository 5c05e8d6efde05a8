/** The default plugin sets, in Kubernetes' order (cheap, common rejections first). */
import type { FilterPlugin, ScorePlugin } from "../types.ts";
import { nodeUnschedulable } from "./node-unschedulable.ts";
import { nodeName } from "./node-name.ts";
import { taintToleration, taintTolerationScore } from "./taint-toleration.ts";
import { nodeAffinity, nodeAffinityScore } from "./node-affinity.ts";
import { nodePorts } from "./node-ports.ts";
import { nodeResourcesFit } from "./node-resources-fit.ts";
import { podTopologySpread, podTopologySpreadScore } from "./pod-topology-spread.ts";
import { interPodAffinity, interPodAffinityScore } from "./inter-pod-affinity.ts";
import { leastAllocated, balancedAllocation } from "./resource-allocation.ts";
import { volumeBinding } from "./volume-binding.ts";

const erase = <S>(p: FilterPlugin<S>) => p as FilterPlugin<unknown>;
const eraseScore = <S>(p: ScorePlugin<S>) => p as ScorePlugin<unknown>;

export const DEFAULT_FILTERS: readonly FilterPlugin<unknown>[] = [
  erase(nodeUnschedulable),
  erase(nodeName),
  erase(taintToleration),
  erase(nodeAffinity),
  erase(nodePorts),
  erase(nodeResourcesFit),
  erase(volumeBinding),
  erase(podTopologySpread),
  erase(interPodAffinity),
];

export const DEFAULT_SCORES: readonly ScorePlugin<unknown>[] = [
  eraseScore(leastAllocated),
  eraseScore(balancedAllocation),
  eraseScore(nodeAffinityScore),
  eraseScore(taintTolerationScore),
  eraseScore(podTopologySpreadScore),
  eraseScore(interPodAffinityScore),
];
