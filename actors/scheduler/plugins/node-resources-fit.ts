/** NodeResourcesFit: cpu, memory and pod count against allocatable minus what placed pods request. */
import type { FilterPlugin } from "../types.ts";

export const REASON_CPU = "Insufficient cpu";
export const REASON_MEMORY = "Insufficient memory";
export const REASON_PODS = "Too many pods";

export const nodeResourcesFit: FilterPlugin<true> = {
  name: "NodeResourcesFit",
  preFilter: () => true,
  filter: (_s, pod, node) => {
    let out: string[] | undefined;
    if (node.pods.size + 1 > node.allocatable.pods) (out ??= []).push(REASON_PODS);
    if (pod.requests.cpu > 0 && node.requested.cpu + pod.requests.cpu > node.allocatable.cpu) (out ??= []).push(REASON_CPU);
    if (pod.requests.memory > 0 && node.requested.memory + pod.requests.memory > node.allocatable.memory) (out ??= []).push(REASON_MEMORY);
    return out;
  },
};
