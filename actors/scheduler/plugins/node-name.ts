/** NodeName: a pod that names its node (spec.nodeName) fits only that node. */
import type { FilterPlugin } from "../types.ts";

export const REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin<string> = {
  name: "NodeName",
  preFilter: (pod) => pod.nodeName,
  filter: (name, _pod, node) => (node.name === name ? undefined : [REASON_NODE_NAME]),
};
