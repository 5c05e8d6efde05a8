/**
 * The node controller's pure step for one key. Two kinds of keys share one queue:
 * - `node/<name>`: the node's health (lifecycle.ts `nodeHealth`) and what to write for it
 *   (`decideNode`: Ready condition, taints, an Event, pods marked not ready), then a re-check
 *   when the health would change by itself;
 * - `pod/<namespace>/<name>`: a pod on a NoExecute-tainted node is evicted once its tolerations
 *   run out (taints.ts `evictionAt`), at the eviction rate the executor enforces.
 * No clock, no I/O: `now` comes in.
 */
import type { Node, NodeCondition, Pod } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import type { LifecycleOptions, NodeCommand, NodeObservation } from "./lifecycle.ts";
import type { Health } from "./taints.ts";
import { match } from "ts-pattern";
import { decideNode, nodeHealth } from "./lifecycle.ts";
import { evictionAt } from "./taints.ts";

export type NodeControllerCommand =
  | NodeCommand
  /** Remember the node's health (the eviction rate follows the share of unhealthy nodes). */
  | { type: "node.health"; name: string; health: Health; was?: Health }
  | { type: "node.forget"; name: string }
  | { type: "pod.evict"; pod: Pod; taint?: string };

export type NodeControllerView =
  | { kind: "node"; name: string; node?: Node; observation: Omit<NodeObservation, "node">; health?: Health; lifecycle: LifecycleOptions }
  | { kind: "pod"; pod?: Pod; node?: Node }
  | { kind: "none" };

export const nodeKey = (name: string) => `node/${name}`;
export const podKey = (namespace: string, name: string) => `pod/${namespace}/${name}`;
export function parseNodeControllerKey(key: string): { kind: "node"; name: string } | { kind: "pod"; namespace: string; name: string } | undefined {
  const [kind, a, b] = key.split("/");
  if (kind === "node" && a) return { kind, name: a };
  if (kind === "pod" && a && b) return { kind, namespace: a, name: b };
  return undefined;
}

/** A ready pod's conditions once its node is lost (Ready=False, reason NodeNotReady); undefined if not ready. */
export function notReadyConditions(pod: Pod, at: string): NodeCondition[] | undefined {
  const conds = pod.status?.conditions ?? [];
  if (!conds.some((c) => c.type === "Ready" && c.status === "True")) return undefined;
  return conds.map((c) =>
    c.type === "Ready" ? { ...c, status: "False" as const, reason: "NodeNotReady", message: "the node's kubelet stopped reporting", lastTransitionTime: at } : c,
  );
}

export function reconcile(_key: string, v: NodeControllerView, now: number): Decision<NodeControllerCommand> {
  return match(v)
    .with({ kind: "node" }, (v): Decision<NodeControllerCommand> => {
      if (!v.node) return { commands: [{ type: "node.forget", name: v.name }] };
      const { health, recheckAt } = nodeHealth({ ...v.observation, node: v.node }, now, v.lifecycle);
      const commands: NodeControllerCommand[] = [];
      if (health !== v.health) commands.push({ type: "node.health", name: v.name, health, ...(v.health ? { was: v.health } : {}) });
      commands.push(...decideNode(v.node, health, new Date(now).toISOString()));
      return { commands, ...(recheckAt !== undefined ? { requeueAfterMs: Math.max(1, recheckAt - now + 5) } : {}) };
    })
    .with({ kind: "pod" }, (v): Decision<NodeControllerCommand> => {
      const { pod, node } = v;
      if (!pod || pod.metadata.deletionTimestamp || !pod.spec.nodeName || !node) return { commands: [] };
      const at = evictionAt(pod, node.spec.taints, now);
      if (at === null) return { commands: [] };
      if (at > now) return { commands: [], requeueAfterMs: at - now + 5 };
      const taint = (node.spec.taints ?? []).find((t) => t.effect === "NoExecute")?.key;
      return { commands: [{ type: "pod.evict", pod, ...(taint ? { taint } : {}) }] };
    })
    .with({ kind: "none" }, () => ({ commands: [] }))
    .exhaustive();
}
