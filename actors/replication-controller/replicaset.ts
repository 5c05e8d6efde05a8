/**
 * The replication controller's pure step: one ReplicaSet/ReplicationController plus the pods of its
 * namespace → the commands that converge it (adopt, release, create, delete, status).
 *
 * Level-based and idempotent: the same view always gives the same commands. No clock, no ids, no I/O.
 */
import type { OwnerReference, Pod, ReplicaSetCondition, ReplicaStatus } from "../../bus/resources.ts";
import type { ReplicaOwner } from "./owner.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { deletionOrder, isPodActive, isPodAvailable, isPodReady, msUntilAvailable } from "./pods.ts";
import { controllerRef } from "../../bus/owners.ts";

/** Most pods created or deleted in one pass (client-go's burstReplicas). */
export const BURST_REPLICAS = 500;

export type RsCommand =
  /** Create `count` pods from `pod` (generateName set) in slow-start batches of 1, 2, 4, … */
  | { type: "pods.create"; namespace: string; pod: Pod; count: number }
  | { type: "pods.delete"; namespace: string; pods: { name: string; uid: string }[] }
  /** Write `pod` (a copy with new ownerReferences) with CAS on its resourceVersion. */
  | { type: "pod.adopt"; pod: Pod }
  | { type: "pod.release"; pod: Pod }
  | { type: "replicaset.status"; status: ReplicaStatus };

export interface RsView {
  /** Pods of the owner's namespace (the informer's cache; never mutated). */
  pods: readonly Pod[];
  /** False while earlier creates/deletes have not been observed: no new creates or deletes then. */
  expectationsSatisfied: boolean;
  /** Pods this controller already asked to delete whose deletion has not been observed yet. */
  pendingDeletes?: ReadonlySet<string>;
  now: number;
  burst?: number;
}

export interface RsDecision extends Decision<RsCommand> {
  /** Creates and deletes to observe before the next scaling pass (what `pods.create` / `pods.delete` ask for). */
  expect: { creates: number; deleteUids: string[] };
}

/** The controller's view of one owner key; `requeueAfterMs` is set when a ready pod will become available. */
export interface RsControllerView extends Omit<RsView, "now"> {
  owner?: ReplicaOwner;
}

export function reconcile(_key: string, v: RsControllerView, now: number): Decision<RsCommand> {
  return v.owner ? reconcileReplicas(v.owner, { ...v, now }) : { commands: [] };
}

export function ownerRefFor(owner: ReplicaOwner): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The pod a template makes: `<owner>-` generateName, template labels/annotations, owner reference. */
export function podFromTemplate(owner: ReplicaOwner): Pod {
  const t = owner.template;
  const meta = t?.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ownerRefFor(owner)],
    },
    spec: structuredClone(t?.spec ?? { containers: [] }),
  };
}

function withOwnerRefs(p: Pod, refs: OwnerReference[]): Pod {
  const copy = structuredClone(p);
  if (refs.length > 0) copy.metadata.ownerReferences = refs;
  else delete copy.metadata.ownerReferences;
  return copy;
}

export function reconcileReplicas(owner: ReplicaOwner, view: RsView): RsDecision {
  const commands: RsCommand[] = [];
  const uid = owner.metadata.uid!;
  const deleting = !!owner.metadata.deletionTimestamp;
  const owned: Pod[] = [];
  for (const p of view.pods) {
    const ref = controllerRef(p);
    const matches = matchesSelector(owner.selector, p.metadata.labels);
    if (ref?.uid === uid) {
      if (matches || deleting) owned.push(p);
      // Owned but no longer selected: release it (drop our reference), unless it is on its way out.
      else if (!p.metadata.deletionTimestamp) {
        commands.push({ type: "pod.release", pod: withOwnerRefs(p, (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid)) });
      }
    } else if (!ref && matches && !deleting && !p.metadata.deletionTimestamp && isPodActive(p)) {
      commands.push({ type: "pod.adopt", pod: withOwnerRefs(p, [...(p.metadata.ownerReferences ?? []), ownerRefFor(owner)]) });
      owned.push(p);
    }
  }
  const pending = view.pendingDeletes;
  const active = owned.filter((p) => isPodActive(p) && !pending?.has(p.metadata.uid!));
  const expect = { creates: 0, deleteUids: [] as string[] };

  if (view.expectationsSatisfied && !deleting) {
    const burst = view.burst ?? BURST_REPLICAS;
    const diff = active.length - owner.replicas;
    if (diff < 0 && owner.template) {
      const count = Math.min(-diff, burst);
      commands.push({ type: "pods.create", namespace: owner.metadata.namespace!, pod: podFromTemplate(owner), count });
      expect.creates = count;
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, burst));
      commands.push({
        type: "pods.delete",
        namespace: owner.metadata.namespace!,
        pods: victims.map((p) => ({ name: p.metadata.name!, uid: p.metadata.uid! })),
      });
      expect.deleteUids = victims.map((p) => p.metadata.uid!);
    }
  }

  // Status counts the pods that stay: pods being deleted no longer count as ready or available.
  const leaving = new Set(expect.deleteUids);
  const status = computeStatus(owner, active.filter((p) => !leaving.has(p.metadata.uid!)), view.now);
  if (!sameStatus(owner.status, status)) commands.push({ type: "replicaset.status", status });

  const waits = active
    .map((p) => msUntilAvailable(p, owner.minReadySeconds, view.now))
    .filter((x): x is number => x !== undefined);
  const requeueAfterMs = waits.length > 0 ? Math.min(...waits) + 10 : undefined;
  return { commands, expect, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

export function computeStatus(owner: ReplicaOwner, active: readonly Pod[], now: number): ReplicaStatus {
  const templateLabels = owner.template?.metadata?.labels ?? {};
  const fully = active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v));
  const conditions: ReplicaSetCondition[] = (owner.status?.conditions ?? []).filter((c) => c.type !== "ReplicaFailure");
  return {
    replicas: active.length,
    fullyLabeledReplicas: fully.length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, owner.minReadySeconds, now)).length,
    observedGeneration: owner.metadata.generation ?? 1,
    ...(conditions.length > 0 ? { conditions } : {}),
  };
}

function sameStatus(a: ReplicaStatus | undefined, b: ReplicaStatus): boolean {
  if (!a) return false;
  return (
    a.replicas === b.replicas &&
    (a.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) &&
    (a.readyReplicas ?? 0) === (b.readyReplicas ?? 0) &&
    (a.availableReplicas ?? 0) === (b.availableReplicas ?? 0) &&
    (a.observedGeneration ?? 0) === (b.observedGeneration ?? 0) &&
    JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? [])
  );
}

/** Slow start: batch sizes 1, 2, 4, … summing to `count` (client-go's slowStartBatch). */
export function slowStartBatches(count: number, initial = 1): number[] {
  const out: number[] = [];
  let left = count;
  let size = Math.max(1, initial);
  while (left > 0) {
    const n = Math.min(size, left);
    out.push(n);
    left -= n;
    size *= 2;
  }
  return out;
}
