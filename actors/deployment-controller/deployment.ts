/**
 * The deployment controller's pure step: one Deployment plus the ReplicaSets of its namespace →
 * commands (create/update/delete ReplicaSets, annotate the Deployment, write its status).
 *
 * RollingUpdate scales the new RS up within maxSurge and old RSs down while keeping
 * `replicas - maxUnavailable` available; Recreate scales old RSs to zero, waits for their pods to
 * go, then brings the new RS up. Paused Deployments only scale. No clock, no ids, no I/O.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { controllerRef } from "../../bus/owners.ts";
import { POD_TEMPLATE_HASH, equalIgnoreHash, templateHash } from "./template.ts";
import {
  Annotation,
  byCreation,
  copiedAnnotations,
  isRecreate,
  newReplicasForRolling,
  replicasOf,
  revisionOf,
  scaleDownOld,
} from "./strategy.ts";
import { progressing, syncConditions } from "./conditions.ts";

export type DeployCommand =
  | { type: "replicaset.create"; rs: ReplicaSet }
  /** Full write of a changed copy, CAS on its resourceVersion. */
  | { type: "replicaset.update"; rs: ReplicaSet }
  | { type: "replicaset.delete"; namespace: string; name: string; uid: string }
  | { type: "deployment.annotate"; annotations: Record<string, string> }
  | { type: "deployment.status"; status: DeploymentStatus };

export type DeployDecision = Decision<DeployCommand>;

/** The controller's view of one Deployment key: the Deployment (as last written) and the ReplicaSets of its namespace. */
export interface DeployView {
  deployment?: Deployment;
  replicaSets: readonly ReplicaSet[];
}

export function reconcile(_key: string, v: DeployView, now: number): DeployDecision {
  return v.deployment ? reconcileDeployment(v.deployment, v.replicaSets, now) : { commands: [] };
}

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

function ownerRef(d: Deployment) {
  return { apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

function newReplicaSet(d: Deployment, replicas: number, revision: number): ReplicaSet {
  const hash = templateHash(d.spec.template, d.status?.collisionCount ?? 0);
  const template = structuredClone(d.spec.template);
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...(d.spec.template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
      annotations: rsAnnotations(d, revision, {}),
      ownerReferences: [ownerRef(d)],
    },
    spec: {
      replicas,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: { ...structuredClone(d.spec.selector), matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash } },
      template,
    },
  };
}

function rsAnnotations(d: Deployment, revision: number, current: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...current, ...copiedAnnotations(d) };
  const old = current[Annotation.revision];
  if (old && Number(old) < revision) {
    const history = current[Annotation.revisionHistory];
    out[Annotation.revisionHistory] = history ? `${history},${old}` : old;
  }
  out[Annotation.revision] = String(revision);
  out[Annotation.desiredReplicas] = String(replicasOf(d));
  out[Annotation.maxReplicas] = String(replicasOf(d) + (isRecreate(d) ? 0 : surgeOf(d)));
  return out;
}
function surgeOf(d: Deployment): number {
  const s = d.spec.strategy?.rollingUpdate?.maxSurge ?? "25%";
  if (typeof s === "number") return s;
  const m = /^(\d+)%$/.exec(s);
  return m ? Math.ceil((Number(m[1]) * replicasOf(d)) / 100) : Number.parseInt(s, 10) || 0;
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const x = a ?? {};
  return Object.keys(x).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => x[k] === v);
}

export function reconcileDeployment(d: Deployment, replicaSets: readonly ReplicaSet[], now: number): DeployDecision {
  if (d.metadata.deletionTimestamp) return { commands: [] };
  const uid = d.metadata.uid!;
  // Working copies keyed by name: every change lands in one rs.update per RS.
  const changed = new Map<string, ReplicaSet>();
  const edit = (rs: ReplicaSet): ReplicaSet => {
    let c = changed.get(rs.metadata.name!);
    if (!c) changed.set(rs.metadata.name!, (c = structuredClone(rs)));
    return c;
  };
  const view = (rs: ReplicaSet): ReplicaSet => changed.get(rs.metadata.name!) ?? rs;

  // Owned RSs, adopting orphans the selector matches.
  const owned: ReplicaSet[] = [];
  for (const rs of replicaSets) {
    const ref = controllerRef(rs);
    if (ref?.uid === uid) owned.push(rs);
    else if (!ref && !rs.metadata.deletionTimestamp && matchesSelector(d.spec.selector, rs.metadata.labels)) {
      const c = edit(rs);
      c.metadata.ownerReferences = [...(c.metadata.ownerReferences ?? []), ownerRef(d)];
      owned.push(rs);
    }
  }
  owned.sort(byCreation);
  const matching = owned.filter((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
  const existingNew = matching[0];
  const old = owned.filter((rs) => rs !== existingNew);
  const maxOldRevision = Math.max(0, ...old.map(revisionOf));
  const revision = existingNew && revisionOf(existingNew) > maxOldRevision ? revisionOf(existingNew) : maxOldRevision + 1;
  const paused = d.spec.paused === true;
  const commands: DeployCommand[] = [];
  let newRs: ReplicaSet | undefined = existingNew;
  let created = false;

  if (existingNew) {
    const c = view(existingNew);
    const ann = rsAnnotations(d, revision, existingNew.metadata.annotations ?? {});
    if (!sameMap(c.metadata.annotations, ann)) edit(existingNew).metadata.annotations = ann;
    if ((c.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0)) edit(existingNew).spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
  }

  const setReplicas = (rs: ReplicaSet, n: number) => {
    if (replicasOf(view(rs)) === n) return;
    const c = edit(rs);
    c.spec.replicas = n;
    c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [Annotation.desiredReplicas]: String(replicasOf(d)) };
  };

  if (paused) {
    // Only scaling while paused: the single active RS (or the newest) follows spec.replicas.
    const active = owned.filter((rs) => replicasOf(rs) > 0);
    const target = active.length === 1 ? active[0] : active.length === 0 ? (existingNew ?? owned[owned.length - 1]) : undefined;
    if (target) setReplicas(target, replicasOf(d));
  } else if (isRecreate(d)) {
    for (const rs of old) setReplicas(rs, 0);
    const oldPodsLeft = old.some((rs) => (rs.status?.replicas ?? 0) > 0 || (rs.status?.observedGeneration ?? 0) < (rs.metadata.generation ?? 0));
    if (!oldPodsLeft && old.every((rs) => replicasOf(rs) === 0)) {
      if (newRs) setReplicas(newRs, replicasOf(d));
      else {
        newRs = newReplicaSet(d, replicasOf(d), revision);
        created = true;
      }
    }
  } else {
    const all = owned.map(view);
    const target = newReplicasForRolling(d, newRs && view(newRs), all);
    if (!newRs) {
      newRs = newReplicaSet(d, target, revision);
      created = true;
    } else if (target !== replicasOf(view(newRs))) {
      setReplicas(newRs, target);
    }
    // Scaling the new RS up ends this pass (its pods must come up before old ones go).
    const scaledUp = !created && newRs && target > replicasOf(newRs);
    if (!scaledUp && !created) {
      for (const [name, n] of scaleDownOld(d, view(newRs), old.map(view))) setReplicas(old.find((rs) => rs.metadata.name === name)!, n);
    }
  }

  if (created && newRs) commands.push({ type: "replicaset.create", rs: newRs });
  for (const c of changed.values()) commands.push({ type: "replicaset.update", rs: c });

  // The Deployment carries the revision of its new RS.
  if (newRs && d.metadata.annotations?.[Annotation.revision] !== String(revision)) {
    commands.push({ type: "deployment.annotate", annotations: { ...(d.metadata.annotations ?? {}), [Annotation.revision]: String(revision) } });
  }

  const after = owned.map(view);
  const status = computeStatus(d, newRs && !created ? view(newRs) : undefined, after);
  const { conditions, requeueAfterMs } = syncConditions(d, status, isComplete(d, status), {
    newRsName: newRs?.metadata.name,
    created,
    now,
    progressed: progressing(d.status, status) || created || changed.size > 0,
  });
  const full: DeploymentStatus = { ...status, conditions };
  if (JSON.stringify(full) !== JSON.stringify(normalise(d.status))) commands.push({ type: "deployment.status", status: full });

  // History: once complete, old RSs at zero beyond revisionHistoryLimit go (oldest revision first).
  if (!paused && isComplete(d, full)) {
    const limit = d.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    const idle = old
      .map(view)
      .filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      commands.push({ type: "replicaset.delete", namespace: rs.metadata.namespace!, name: rs.metadata.name!, uid: rs.metadata.uid! });
    }
  }
  return { commands, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

function normalise(s: DeploymentStatus | undefined): DeploymentStatus {
  return s ?? {};
}

export function computeStatus(d: Deployment, newRs: ReplicaSet | undefined, all: readonly ReplicaSet[]): Omit<DeploymentStatus, "conditions"> {
  const sum = (f: (rs: ReplicaSet) => number) => all.reduce((n, rs) => n + f(rs), 0);
  const available = sum((rs) => rs.status?.availableReplicas ?? 0);
  return {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRs?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicasOf(d) - available),
    ...(d.status?.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
  };
}

/** kubectl rollout status' notion of done. */
export function isComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return s.updatedReplicas === r && s.replicas === r && (s.availableReplicas ?? 0) >= r && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1);
}
