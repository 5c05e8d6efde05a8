/**
 * The DaemonSet controller's pure step (Kubernetes' daemon controller: manage, rollingUpdate,
 * cleanupHistory, updateDaemonSetStatus): one DaemonSet, the nodes, the pods and revisions of its
 * namespace, and the time → the commands that converge it. Same view, same commands; no I/O.
 *
 * - history: the current ControllerRevision (created or renumbered) gives the hash every new pod
 *   carries in `controller-revision-hash`;
 * - manage: a pod on every node the daemon pod fits, none elsewhere; failed pods are replaced
 *   with a per-node back-off; pods on nodes that left the cluster are removed;
 * - rollingUpdate (only when manage changed nothing): without surge, old pods are deleted while the
 *   unavailable count stays ≤ maxUnavailable; with surge, new pods start next to old ones (≤ maxSurge
 *   at a time) and an old pod goes once its replacement is available. OnDelete replaces nothing.
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus, Node, Pod } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable } from "../replication-controller/pods.ts";
import { constructHistory, ownerReference, revisionsToDelete, REVISION_HASH_LABEL } from "../workloads/revisions.ts";
import { daemonTolerations, pinToNode, placement, targetNode } from "./placement.ts";
import { withOwnerRefs } from "../workloads/ownership.ts";
import { desiredNodes, rollingBudget, rollingUpdate } from "./rolling-update.ts";

export type DsCommand =
  | { type: "revision.create"; revision: ControllerRevision }
  | { type: "revision.update"; revision: ControllerRevision }
  | { type: "revision.delete"; namespace: string; name: string; uid: string }
  /** What this pass asks for, so the next pass waits until the informer has seen it. */
  | { type: "expectations.set"; creates: number; deleteUids: string[] }
  | { type: "pod.adopt"; pod: Pod }
  | { type: "pod.release"; pod: Pod }
  /** One pod per node (each pinned to its node), created in slow-start batches. */
  | { type: "pods.create"; namespace: string; pods: Pod[] }
  /** `force`: the node is gone, nobody will finish a graceful deletion. */
  | { type: "pods.delete"; namespace: string; pods: { name: string; uid: string; force: boolean }[] }
  /** A failed daemon pod on this node was deleted: back off before the next one there. */
  | { type: "node.backoff"; node: string }
  | { type: "event.record"; eventType: "Normal" | "Warning"; reason: string; message: string }
  | { type: "daemonset.status"; status: DaemonSetStatus };

/** Commands, and when to look again. */
export type DsDecision = Decision<DsCommand>;

export interface DsView {
  ds?: DaemonSet;
  nodes: readonly Node[];
  /** Pods of the DaemonSet's namespace (cache objects: never mutated). */
  pods: readonly Pod[];
  /** ControllerRevisions of the DaemonSet's namespace. */
  revisions: readonly ControllerRevision[];
  expectationsSatisfied: boolean;
  /** Node → time (ms) before which a failed daemon pod there is not replaced again. */
  backoffUntil?: ReadonlyMap<string, number>;
}

const SORT_SCHEDULED_OLDEST = (a: Pod, b: Pod): number => {
  const sa = a.spec.nodeName ? 0 : 1;
  const sb = b.spec.nodeName ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  return ta !== tb ? ta - tb : (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
};


/** The pod a DaemonSet runs on `node`: template + revision hash label + daemon tolerations + node pin. */
export function daemonPod(ds: DaemonSet, hash: string, node: string): Pod {
  const t = ds.spec.template;
  const spec = structuredClone(t.spec);
  spec.tolerations = daemonTolerations(spec);
  spec.affinity = pinToNode(spec.affinity, node);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [ownerReference({ ...ds, template: t })],
    },
    spec,
  };
}

interface Claim {
  commands: DsCommand[];
  /** Daemon pods by the node they are (meant to be) on. */
  byNode: Map<string, Pod[]>;
  owned: Pod[];
}

function claimPods(ds: DaemonSet, pods: readonly Pod[]): Claim {
  const uid = ds.metadata.uid!;
  const commands: DsCommand[] = [];
  const owned: Pod[] = [];
  for (const p of pods) {
    const ref = controllerRef(p);
    const matches = matchesSelector(ds.spec.selector, p.metadata.labels);
    if (ref?.uid === uid) {
      if (matches) owned.push(p);
      else if (!p.metadata.deletionTimestamp)
        commands.push({ type: "pod.release", pod: withOwnerRefs(p, (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid)) });
    } else if (!ref && matches && !p.metadata.deletionTimestamp && isPodActive(p)) {
      commands.push({ type: "pod.adopt", pod: withOwnerRefs(p, [...(p.metadata.ownerReferences ?? []), ownerReference({ ...ds, template: ds.spec.template })]) });
      owned.push(p);
    }
  }
  const byNode = new Map<string, Pod[]>();
  for (const p of owned) {
    const terminal = p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
    if (terminal && p.metadata.deletionTimestamp) continue;
    const node = targetNode(p) ?? "";
    byNode.set(node, [...(byNode.get(node) ?? []), p]);
  }
  return { commands, byNode, owned };
}

interface Manage {
  createOn: string[];
  deletes: { pod: Pod; force: boolean }[];
  commands: DsCommand[];
  requeueAfterMs?: number;
}

/** podsShouldBeOnNode for every node, plus pods whose node is gone. */
function manage(ds: DaemonSet, view: DsView, byNode: Map<string, Pod[]>, hash: string, now: number, surge: boolean): Manage {
  const out: Manage = { createOn: [], deletes: [], commands: [] };
  const known = new Set(view.nodes.map((n) => n.metadata.name!));
  for (const node of view.nodes) {
    const name = node.metadata.name!;
    const { shouldRun, shouldContinueRunning } = placement(ds.spec.template, node);
    const pods = byNode.get(name);
    if (shouldRun && !pods) {
      out.createOn.push(name);
      continue;
    }
    if (!pods) continue;
    if (!shouldContinueRunning) {
      for (const p of pods) if (!p.metadata.deletionTimestamp) out.deletes.push({ pod: p, force: false });
      continue;
    }
    const running: Pod[] = [];
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      if (p.status?.phase === "Failed") {
        const until = view.backoffUntil?.get(name) ?? 0;
        if (until > now) {
          out.requeueAfterMs = Math.min(out.requeueAfterMs ?? Infinity, until - now);
          continue;
        }
        out.commands.push({ type: "node.backoff", node: name });
        out.commands.push({
          type: "event.record",
          eventType: "Warning",
          reason: "FailedDaemonPod",
          message: `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to kill it`,
        });
        out.deletes.push({ pod: p, force: false });
      } else if (p.status?.phase === "Succeeded") out.deletes.push({ pod: p, force: false });
      else running.push(p);
    }
    running.sort(SORT_SCHEDULED_OLDEST);
    if (!surge) {
      for (const p of running.slice(1)) out.deletes.push({ pod: p, force: false });
      continue;
    }
    if (running.length <= 1) {
      if (running.length === 0 && shouldRun) out.createOn.push(name);
      continue;
    }
    // Surging: keep at most the oldest new and the oldest old pod, and the old one only while the new one is not available yet.
    let oldestNew: Pod | undefined;
    let oldestOld: Pod | undefined;
    for (const p of running) {
      const isNew = p.metadata.labels?.[REVISION_HASH_LABEL] === hash;
      if (isNew && !oldestNew) oldestNew = p;
      else if (!isNew && !oldestOld) oldestOld = p;
      else out.deletes.push({ pod: p, force: false });
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec.minReadySeconds ?? 0, now)))
      out.deletes.push({ pod: oldestOld, force: false });
  }
  // A node that left the cluster loses its pods; nobody is there to finish a graceful deletion.
  for (const [node, pods] of byNode) {
    if (known.has(node)) continue;
    for (const p of pods) if (!p.metadata.deletionTimestamp || p.spec.nodeName) out.deletes.push({ pod: p, force: true });
  }
  return out;
}

export function computeDaemonSetStatus(ds: DaemonSet, view: DsView, byNode: Map<string, Pod[]>, hash: string, now: number, observe: boolean): DaemonSetStatus {
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let updated = 0;
  let available = 0;
  for (const node of view.nodes) {
    const pods = [...(byNode.get(node.metadata.name!) ?? [])].sort(SORT_SCHEDULED_OLDEST);
    if (!placement(ds.spec.template, node).shouldRun) {
      if (pods.length > 0) misscheduled++;
      continue;
    }
    desired++;
    const p = pods[0];
    if (!p) continue;
    current++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, ds.spec.minReadySeconds ?? 0, now)) available++;
    }
    if (p.metadata.labels?.[REVISION_HASH_LABEL] === hash) updated++;
  }
  const before = ds.status;
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: observe ? (ds.metadata.generation ?? 1) : before?.observedGeneration,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
  if (status.observedGeneration === undefined) delete status.observedGeneration;
  if (before?.collisionCount !== undefined) status.collisionCount = before.collisionCount;
  if (before?.conditions) status.conditions = before.conditions;
  return status;
}

const sameStatus = (a: DaemonSetStatus | undefined, b: DaemonSetStatus) => JSON.stringify(a ?? {}) === JSON.stringify(b);

export function reconcileDaemonSet(_key: string, view: DsView, now: number): DsDecision {
  const ds = view.ds;
  if (!ds || ds.metadata.deletionTimestamp) return { commands: [] };
  const ns = ds.metadata.namespace!;
  const sel = ds.spec.selector;
  if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
    return { commands: [{ type: "event.record", eventType: "Warning", reason: "SelectingAll", message: "This daemon set is selecting all pods. A non-empty selector is required." }] };
  }
  const commands: DsCommand[] = [];
  const history = constructHistory({ ...ds, template: ds.spec.template, collisionCount: ds.status?.collisionCount }, view.revisions);
  if (history.create) commands.push({ type: "revision.create", revision: history.create });
  if (history.renumber) commands.push({ type: "revision.update", revision: history.renumber });
  const hash = history.hash;
  const claim = claimPods(ds, view.pods);
  commands.push(...claim.commands);
  let requeueAfterMs: number | undefined;

  if (view.expectationsSatisfied) {
    const surge = ds.spec.updateStrategy?.type === "RollingUpdate" && rollingBudget(ds, desiredNodes(ds, view.nodes).length).maxSurge > 0;
    const m = manage(ds, view, claim.byNode, hash, now, surge);
    commands.push(...m.commands);
    requeueAfterMs = m.requeueAfterMs;
    let createOn = m.createOn;
    let deletes = m.deletes;
    if (createOn.length === 0 && deletes.length === 0 && ds.spec.updateStrategy?.type === "RollingUpdate") {
      const r = rollingUpdate(ds, view, claim.byNode, hash, now);
      createOn = r.createOn;
      deletes = r.deletes.map((pod) => ({ pod, force: false }));
    }
    const uniqueDeletes = [...new Map(deletes.map((d) => [d.pod.metadata.uid!, d])).values()];
    if (createOn.length > 0 || uniqueDeletes.length > 0) {
      commands.push({ type: "expectations.set", creates: createOn.length, deleteUids: uniqueDeletes.map((d) => d.pod.metadata.uid!) });
    }
    if (uniqueDeletes.length > 0)
      commands.push({ type: "pods.delete", namespace: ns, pods: uniqueDeletes.map((d) => ({ name: d.pod.metadata.name!, uid: d.pod.metadata.uid!, force: d.force })) });
    if (createOn.length > 0) commands.push({ type: "pods.create", namespace: ns, pods: createOn.map((n) => daemonPod(ds, hash, n)) });
  }

  const liveHashes = new Set(claim.owned.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? "").filter(Boolean));
  for (const r of revisionsToDelete(history.old, liveHashes, ds.spec.revisionHistoryLimit ?? 10, (x) => x.metadata.labels?.[REVISION_HASH_LABEL] ?? "")) {
    commands.push({ type: "revision.delete", namespace: ns, name: r.metadata.name!, uid: r.metadata.uid! });
  }

  const status = computeDaemonSetStatus(ds, view, claim.byNode, hash, now, view.expectationsSatisfied);
  if (!sameStatus(ds.status, status)) commands.push({ type: "daemonset.status", status });
  const waits = claim.owned.map((p) => msUntilAvailable(p, ds.spec.minReadySeconds ?? 0, now)).filter((x): x is number => x !== undefined);
  if (waits.length > 0) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.min(...waits) + 10);
  return requeueAfterMs !== undefined && Number.isFinite(requeueAfterMs) ? { commands, requeueAfterMs } : { commands };
}
