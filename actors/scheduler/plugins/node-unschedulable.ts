/** NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods unless they tolerate it. */
import type { FilterPlugin } from "../types.ts";
import { tolerates } from "./taint-toleration.ts";

export const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";
export const REASON_UNSCHEDULABLE = "node(s) were unschedulable";

export const nodeUnschedulable: FilterPlugin<true> = {
  name: "NodeUnschedulable",
  preFilter: (pod) => (pod.tolerations.some((t) => tolerates(t, { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" })) ? undefined : true),
  filter: (_s, _pod, node) => (node.unschedulable ? [REASON_UNSCHEDULABLE] : undefined),
};
