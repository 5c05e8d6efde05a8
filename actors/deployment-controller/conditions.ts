/**
 * The Deployment's Available and Progressing conditions (Kubernetes' syncRolloutStatus), with
 * progressDeadlineSeconds: no progress within the deadline → Progressing=False
 * ProgressDeadlineExceeded. Pure: `now` comes in.
 */
import type { Deployment, DeploymentStatus, ReplicaSetCondition } from "../../bus/resources.ts";
import { maxUnavailableOf, replicasOf } from "./strategy.ts";
import { rfc3339 } from "../../bus/time.ts";

export const Reason = {
  available: "MinimumReplicasAvailable",
  unavailable: "MinimumReplicasUnavailable",
  newRsAvailable: "NewReplicaSetAvailable",
  newRsCreated: "NewReplicaSetCreated",
  rsUpdated: "ReplicaSetUpdated",
  deadline: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
} as const;

export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

export function iso(ms: number): string {
  return rfc3339(ms);
}

/** Did the rollout move since the last written status? */
export function progressing(prev: DeploymentStatus | undefined, cur: Omit<DeploymentStatus, "conditions">): boolean {
  const p = prev ?? {};
  return (
    (cur.updatedReplicas ?? 0) > (p.updatedReplicas ?? 0) ||
    (cur.replicas ?? 0) < (p.replicas ?? 0) ||
    (cur.readyReplicas ?? 0) > (p.readyReplicas ?? 0) ||
    (cur.availableReplicas ?? 0) > (p.availableReplicas ?? 0)
  );
}

function set(conds: ReplicaSetCondition[], c: Omit<ReplicaSetCondition, "lastTransitionTime" | "lastUpdateTime">, now: string, touch: boolean): ReplicaSetCondition[] {
  const cur = conds.find((x) => x.type === c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message && !touch) return conds;
  const next: ReplicaSetCondition = {
    type: c.type,
    status: c.status,
    lastUpdateTime: now,
    lastTransitionTime: cur && cur.status === c.status ? (cur.lastTransitionTime ?? now) : now,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
  return [...conds.filter((x) => x.type !== c.type), next];
}

export function syncConditions(
  d: Deployment,
  s: Omit<DeploymentStatus, "conditions">,
  complete: boolean,
  o: { newRsName?: string; created: boolean; now: number; progressed: boolean },
): { conditions: ReplicaSetCondition[]; requeueAfterMs?: number } {
  const now = iso(o.now);
  let conds = [...(d.status?.conditions ?? [])];
  const minAvailable = replicasOf(d) - maxUnavailableOf(d);
  conds =
    (s.availableReplicas ?? 0) >= minAvailable
      ? set(conds, { type: "Available", status: "True", reason: Reason.available, message: "Deployment has minimum availability." }, now, false)
      : set(conds, { type: "Available", status: "False", reason: Reason.unavailable, message: "Deployment does not have minimum availability." }, now, false);

  const prev = conds.find((c) => c.type === "Progressing");
  const rs = `ReplicaSet "${o.newRsName ?? d.metadata.name}"`;
  const deadline = d.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  let requeueAfterMs: number | undefined;
  if (d.spec.paused) {
    conds = set(conds, { type: "Progressing", status: "Unknown", reason: Reason.paused, message: "Deployment is paused" }, now, false);
  } else if (prev?.reason === Reason.paused && !o.progressed && !complete) {
    conds = set(conds, { type: "Progressing", status: "Unknown", reason: Reason.resumed, message: "Deployment is resumed" }, now, false);
  } else if (complete) {
    conds = set(conds, { type: "Progressing", status: "True", reason: Reason.newRsAvailable, message: `${rs} has successfully progressed.` }, now, false);
  } else if (o.created) {
    conds = set(conds, { type: "Progressing", status: "True", reason: Reason.newRsCreated, message: `Created new replica set "${o.newRsName}"` }, now, true);
  } else if (o.progressed || !prev) {
    conds = set(conds, { type: "Progressing", status: "True", reason: Reason.rsUpdated, message: `${rs} is progressing.` }, now, true);
  } else if (prev.reason !== Reason.deadline) {
    const since = Date.parse(prev.lastUpdateTime ?? prev.lastTransitionTime ?? "") || o.now;
    const left = since + deadline * 1000 - o.now;
    if (left <= 0) {
      conds = set(conds, { type: "Progressing", status: "False", reason: Reason.deadline, message: `${rs} has timed out progressing.` }, now, false);
    } else requeueAfterMs = left + 50;
  }
  const p = conds.find((c) => c.type === "Progressing");
  if (requeueAfterMs === undefined && !complete && !d.spec.paused && p?.status === "True") requeueAfterMs = deadline * 1000 + 50;
  // Kubernetes lists Available before Progressing.
  conds.sort((a, b) => (a.type === "Available" ? -1 : b.type === "Available" ? 1 : 0));
  return { conditions: conds, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
