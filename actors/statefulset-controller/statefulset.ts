/**
 * The StatefulSet controller's pure step (Kubernetes' StatefulSetControl.updateStatefulSet): one
 * StatefulSet, the pods and revisions of its namespace, what it saw of node Leases, and the time →
 * commands. No I/O; the same view always gives the same commands.
 *
 * - identities `<set>-<ordinal>` for ordinals [start, start+replicas); hostname = pod name,
 *   subdomain = serviceName;
 * - OrderedReady: create in ordinal order, each only once every lower ordinal is Running, Ready
 *   (and available); scale down from the highest ordinal, one at a time, waiting for each to go.
 *   Parallel: create and delete everything at once;
 * - RollingUpdate: replace pods not at the update revision from the highest ordinal down to
 *   `partition`, one at a time waiting for health (or up to `maxUnavailable` unhealthy at once);
 *   ordinals below `partition` are (re)created at the current revision. OnDelete replaces nothing;
 * - a pod on a node that has fenced itself (fence.ts) is force-deleted so it can be recreated;
 * - volumeClaimTemplates (claims.ts): a pod's missing claims are created with it, a stale or
 *   deleting claim holds its ordinal back, and claim owner references follow the retention policy.
 */
import type { ControllerRevision, Pod, PodTemplateSpec, StatefulSet, StatefulSetStatus } from "../../bus/resources.ts";
import type { PersistentVolumeClaim } from "../../bus/storage.ts";
import type { LeaseSeen } from "./fence.ts";
import type { ClaimCommand, OrdinalPod } from "./claims.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable } from "../replication-controller/pods.ts";
import { constructHistory, ownerReference, revisionTemplate, revisionsToDelete } from "../workloads/revisions.ts";
import { scaled } from "../deployment-controller/strategy.ts";
import { withOwnerRefs } from "../workloads/ownership.ts";
import { fencedAt } from "./fence.ts";
import { claimCommands, claimsToCreate } from "./claims.ts";
import { isMember, ordinalOf, podName, replicasOf, revisionOf, startOrdinal, statefulPod } from "./identity.ts";

export type StsCommand =
  | { type: "revision.create"; revision: ControllerRevision }
  | { type: "revision.update"; revision: ControllerRevision }
  | { type: "revision.delete"; namespace: string; name: string; uid: string }
  | { type: "pod.adopt"; pod: Pod }
  | { type: "pod.release"; pod: Pod }
  /** `claims`: the pod's claims that do not exist yet, created first (CreateStatefulPod). */
  | { type: "pod.create"; pod: Pod; claims: PersistentVolumeClaim[] }
  | ClaimCommand
  /** `force`: delete at once (gracePeriodSeconds 0) — only for pods of a node that has fenced itself. */
  | { type: "pod.delete"; namespace: string; name: string; uid: string; force: boolean }
  | { type: "event.record"; eventType: "Normal" | "Warning"; reason: string; message: string }
  | { type: "statefulset.status"; status: StatefulSetStatus };

/** Commands, and when to look again. */
export type StsDecision = Decision<StsCommand>;

export interface StsView {
  set?: StatefulSet;
  /** Pods of the set's namespace (cache objects: never mutated). */
  pods: readonly Pod[];
  revisions: readonly ControllerRevision[];
  /** PersistentVolumeClaims of the set's namespace (cache objects). */
  claims: readonly PersistentVolumeClaim[];
  /** Node → what this controller saw of its Lease. */
  leases: ReadonlyMap<string, LeaseSeen>;
  fenceMarginMs: number;
}

const isTerminating = (p: Pod) => !!p.metadata.deletionTimestamp;
const isRunningAndReady = (p: Pod) => p.status?.phase === "Running" && isPodReady(p);
const isHealthy = (p: Pod | undefined) => !!p && isRunningAndReady(p) && !isTerminating(p);
const isFinished = (p: Pod) => p.status?.phase === "Failed" || p.status?.phase === "Succeeded";
/** A deleting or stale claim holds its ordinal back; its deletion enqueues the set, this is the fallback. */
const CLAIM_WAIT_MS = 1000;


interface Plan {
  commands: StsCommand[];
  requeueAt: number[];
  /** Pods this pass deletes (they no longer count as healthy). */
  deleting: Set<string>;
}

function deletePod(plan: Plan, p: Pod, force = false): void {
  plan.commands.push({ type: "pod.delete", namespace: p.metadata.namespace!, name: p.metadata.name!, uid: p.metadata.uid!, force });
  plan.deleting.add(p.metadata.uid!);
}

/** Pods on nodes that fenced themselves are force-deleted; silent nodes not yet fenced bring us back later. */
function fenceSilentNodes(set: StatefulSet, owned: readonly Pod[], view: StsView, now: number, plan: Plan): void {
  for (const p of owned) {
    const node = p.spec.nodeName;
    if (!node) continue;
    const seen = view.leases.get(node);
    if (!seen) continue;
    const expires = seen.seenAt + seen.leaseDurationSeconds * 1000;
    if (now < expires) {
      // Look again when the lease would run out without a renewal (a renewal makes that pass a no-op).
      plan.requeueAt.push(expires);
      continue;
    }
    const at = fencedAt(seen, view.fenceMarginMs)!;
    if (now < at) {
      plan.requeueAt.push(at);
      continue;
    }
    const silentFor = Math.round((now - seen.seenAt) / 1000);
    plan.commands.push({
      type: "event.record",
      eventType: "Warning",
      reason: "ReplacingFencedPod",
      message: `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is replacing Pod ${p.metadata.name}: node ${node} has not renewed its lease for ${silentFor}s (lease ${seen.leaseDurationSeconds}s + fence margin ${view.fenceMarginMs / 1000}s), so it has stopped its pods`,
    });
    deletePod(plan, p, true);
  }
}

export function reconcileStatefulSet(_key: string, view: StsView, now: number): StsDecision {
  const set = view.set;
  if (!set) return { commands: [] };
  const ns = set.metadata.namespace!;
  const uid = set.metadata.uid!;
  const plan: Plan = { commands: [], requeueAt: [], deleting: new Set() };
  const history = constructHistory({ ...set, template: set.spec.template, collisionCount: set.status?.collisionCount }, view.revisions);
  const deleting = !!set.metadata.deletionTimestamp;
  if (!deleting) {
    if (history.create) plan.commands.push({ type: "revision.create", revision: history.create });
    if (history.renumber) plan.commands.push({ type: "revision.update", revision: history.renumber });
  }
  const update = history.current;
  const updateName = update.metadata.name!;
  const current = history.old.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
  const currentName = current.metadata.name!;
  const currentTemplate: PodTemplateSpec = revisionTemplate(current) ?? set.spec.template;

  // Claim: our pods that the selector still matches; adopt matching orphans named like members.
  const owned: Pod[] = [];
  for (const p of view.pods) {
    const ref = controllerRef(p);
    const matches = matchesSelector(set.spec.selector, p.metadata.labels) && isMember(set, p);
    if (ref?.uid === uid) {
      if (matches) owned.push(p);
      else if (!isTerminating(p)) plan.commands.push({ type: "pod.release", pod: withOwnerRefs(p, (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid)) });
    } else if (!ref && matches && !deleting && !isTerminating(p) && isPodActive(p)) {
      plan.commands.push({ type: "pod.adopt", pod: withOwnerRefs(p, [...(p.metadata.ownerReferences ?? []), ownerReference({ ...set, template: set.spec.template })]) });
      owned.push(p);
    }
  }

  const start = startOrdinal(set);
  const count = replicasOf(set);
  const replicas: (Pod | undefined)[] = Array.from({ length: count }, () => undefined);
  const condemned: Pod[] = [];
  for (const p of owned) {
    const o = ordinalOf(p);
    if (o >= start && o < start + count) replicas[o - start] = p;
    else if (o >= 0) condemned.push(p);
  }
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
  const status = computeStatus(set, [...replicas.filter((p): p is Pod => !!p), ...condemned], currentName, updateName, now, set.status?.collisionCount ?? 0);

  if (!deleting) {
    const claims = new Map(view.claims.map((c) => [c.metadata.name!, c]));
    const members = replicas.flatMap((p, i): OrdinalPod[] => (p ? [[p, start + i]] : []));
    plan.commands.push(...claimCommands(set, members, condemned.map((p): OrdinalPod => [p, ordinalOf(p)]), claims));
    fenceSilentNodes(set, owned, view, now, plan);
    const monotonic = (set.spec.podManagementPolicy ?? "OrderedReady") !== "Parallel";
    const minReady = set.spec.minReadySeconds ?? 0;
    const gone = (p: Pod) => isTerminating(p) || plan.deleting.has(p.metadata.uid!);
    const available = (p: Pod) => isRunningAndReady(p) && isPodAvailable(p, minReady, now);
    const firstUnhealthy = [...replicas, ...[...condemned].reverse()].find((p) => !isHealthy(p) || (p && plan.deleting.has(p.metadata.uid!)));
    const partition = set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const rolling = (set.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";

    const processReplicas = (): boolean => {
      for (let i = 0; i < count; i++) {
        const ordinal = start + i;
        const p = replicas[i];
        if (p && isFinished(p) && !gone(p)) {
          plan.commands.push({
            type: "event.record",
            eventType: p.status?.phase === "Failed" ? "Warning" : "Normal",
            reason: p.status?.phase === "Failed" ? "RecreatingFailedPod" : "RecreatingTerminatedPod",
            message: `StatefulSet ${ns}/${set.metadata.name} is recreating ${p.status?.phase === "Failed" ? "failed" : "terminated"} Pod ${p.metadata.name}`,
          });
          deletePod(plan, p);
        }
        if (!p) {
          const atCurrent = rolling && ordinal < start + partition;
          const need = claimsToCreate(set, ordinal, claims, podName(set, ordinal));
          if (need.wait) {
            plan.requeueAt.push(now + CLAIM_WAIT_MS);
            if (monotonic) return true;
            continue;
          }
          plan.commands.push({ type: "pod.create", pod: statefulPod(set, atCurrent ? currentTemplate : set.spec.template, atCurrent ? currentName : updateName, ordinal), claims: need.create });
          if (monotonic) return true;
          continue;
        }
        if (!monotonic) continue;
        if (gone(p) || !isRunningAndReady(p) || !available(p)) return true;
      }
      return false;
    };
    const processCondemned = (): boolean => {
      for (const p of condemned) {
        if (gone(p)) {
          if (monotonic) return true;
          continue;
        }
        if (monotonic && p !== firstUnhealthy && (!isRunningAndReady(p) || !available(p))) return true;
        deletePod(plan, p);
        if (monotonic) return true;
      }
      return false;
    };
    const blocked = processReplicas() || processCondemned();
    if (!blocked && rolling) rollingUpdate(set, replicas, updateName, partition, plan, gone);
  }

  // History: keep revisionHistoryLimit revisions that neither the set nor a pod uses.
  const live = new Set([currentName, updateName, ...owned.map(revisionOf)]);
  const unused = history.old.filter((r) => !live.has(r.metadata.name!));
  for (const r of revisionsToDelete(unused, new Set(), set.spec.revisionHistoryLimit ?? 10, (x) => x.metadata.name!)) {
    if (!deleting) plan.commands.push({ type: "revision.delete", namespace: ns, name: r.metadata.name!, uid: r.metadata.uid! });
  }

  if (JSON.stringify(set.status ?? {}) !== JSON.stringify(status)) plan.commands.push({ type: "statefulset.status", status });
  const waits = owned.map((p) => msUntilAvailable(p, set.spec.minReadySeconds ?? 0, now)).filter((x): x is number => x !== undefined).map((ms) => now + ms + 10);
  const when = [...plan.requeueAt, ...waits];
  return when.length > 0 ? { commands: plan.commands, requeueAfterMs: Math.max(0, Math.min(...when) - now) } : { commands: plan.commands };
}

/** Replace pods not at the update revision, highest ordinal first, never below `partition`. */
function rollingUpdate(set: StatefulSet, replicas: readonly (Pod | undefined)[], updateName: string, partition: number, plan: Plan, gone: (p: Pod) => boolean): void {
  const maxUnavailableSpec = set.spec.updateStrategy?.rollingUpdate?.maxUnavailable;
  if (maxUnavailableSpec === undefined) {
    for (let i = replicas.length - 1; i >= partition; i--) {
      const p = replicas[i];
      if (!p) return;
      if (revisionOf(p) !== updateName && !gone(p)) return void deletePod(plan, p);
      if (!isHealthy(p)) return;
    }
    return;
  }
  // maxUnavailable (Kubernetes' MaxUnavailableStatefulSet): several at once, unhealthy ones counted.
  const maxUnavailable = Math.max(1, scaled(maxUnavailableSpec, "1", replicasOf(set), false));
  const unavailable = replicas.filter((p) => !isHealthy(p) || (p && plan.deleting.has(p.metadata.uid!))).length;
  let room = maxUnavailable - unavailable;
  for (let i = replicas.length - 1; i >= partition && room > 0; i--) {
    const p = replicas[i];
    if (p && revisionOf(p) !== updateName && !gone(p)) {
      deletePod(plan, p);
      room--;
    }
  }
}

export function computeStatus(set: StatefulSet, pods: readonly Pod[], currentName: string, updateName: string, now: number, collisionCount: number): StatefulSetStatus {
  const minReady = set.spec.minReadySeconds ?? 0;
  let ready = 0;
  let available = 0;
  let currentReplicas = 0;
  let updated = 0;
  for (const p of pods) {
    if (isRunningAndReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
    if (!isTerminating(p)) {
      if (revisionOf(p) === currentName) currentReplicas++;
      if (revisionOf(p) === updateName) updated++;
    }
  }
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: pods.length,
    readyReplicas: ready,
    currentReplicas,
    updatedReplicas: updated,
    currentRevision: currentName,
    updateRevision: updateName,
    collisionCount,
    availableReplicas: available,
  };
  // completeRollingUpdate: once every pod is updated and ready, the update revision becomes current.
  if ((set.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate" && updated === pods.length && ready === pods.length) {
    status.currentReplicas = updated;
    status.currentRevision = updateName;
  }
  if (set.status?.conditions) status.conditions = set.status.conditions;
  return status;
}

export { podName };
