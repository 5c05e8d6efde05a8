/** The node controller's writes, all through the store protocol with CAS. */
import type { StoreClient } from "../../bus/store-client.ts";
import type { Node, NodeCondition, Pod, Taint } from "../../bus/resources.ts";
import { ErrorCode, isCode } from "../../bus/errors.ts";
import { recordEvent as writeEvent } from "../../runtime/events.ts";

export const COMPONENT = "node-controller";

export async function writeConditions(store: StoreClient, node: Node, conditions: NodeCondition[]): Promise<Node> {
  return store.updateStatus<Node>("nodes", { ...node, status: { ...node.status, conditions } });
}

export async function writeTaints(store: StoreClient, node: Node, taints: Taint[]): Promise<Node> {
  return store.update<Node>("nodes", { ...node, spec: { ...node.spec, taints } });
}

export async function recordEvent(
  store: StoreClient,
  o: { kind: "Node" | "Pod"; namespace?: string; name: string; uid?: string },
  reason: string,
  message: string,
  type: "Normal" | "Warning",
  host: string,
): Promise<void> {
  await writeEvent(store, {
    involved: { kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid, apiVersion: "v1" },
    type,
    reason,
    message,
    source: { component: COMPONENT, host },
  });
}

/** Kubernetes' MarkPodsNotReady: the kubelet cannot say so itself any more. */
export async function markPodNotReady(store: StoreClient, pod: Pod, nowIso: string): Promise<void> {
  const conds = pod.status?.conditions ?? [];
  if (!conds.some((c) => c.type === "Ready" && c.status === "True")) return;
  const conditions = conds.map((c) =>
    c.type === "Ready" ? { ...c, status: "False" as const, reason: "NodeNotReady", message: "the node's kubelet stopped reporting", lastTransitionTime: nowIso } : c,
  );
  try {
    await store.updateStatus("pods", { ...pod, status: { ...pod.status, conditions } });
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound)) return;
    throw e;
  }
}

/** Eviction = graceful delete, guarded by the pod's uid (a recreated pod of the same name is left alone). */
export async function evictPod(store: StoreClient, pod: Pod): Promise<boolean> {
  try {
    await store.delete("pods", pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
    return true;
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound) || isCode(e, ErrorCode.Conflict)) return false;
    throw e;
  }
}
