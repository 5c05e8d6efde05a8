/**
 * The Job controller's pure step (Kubernetes' job controller, batch/v1): one Job, the pods of its
 * namespace and the time → commands. No I/O.
 *
 * - pods run `parallelism` at a time until `completions` succeed (NonIndexed), or until every index
 *   0…completions-1 has succeeded once (Indexed: each pod carries its index in an annotation, a
 *   label, its hostname and JOB_COMPLETION_INDEX);
 * - every pod holds a tracking finalizer until it is counted: a finished pod's uid goes to
 *   status.uncountedTerminatedPods, its finalizer is removed, then the counters move — so a pod
 *   deleted after it finished is still counted exactly once;
 * - failures: podFailurePolicy (FailJob / Ignore / Count) on exit codes and pod conditions, then
 *   backoffLimit (OnFailure restarts count too); a new pod after failures waits 10 s · 2^(n-1)
 *   (capped); activeDeadlineSeconds; a failing Job deletes its pods, reports FailureTarget, then
 *   Failed once none is left;
 * - suspend deletes active pods and stops the clock; ttlSecondsAfterFinished deletes the Job.
 */
import type { Job, JobCondition, JobStatus, Pod } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { matchesSelector } from "../../bus/selectors.ts";
import { rfc3339 } from "../../bus/time.ts";
import { controllerRef } from "../../bus/owners.ts";
import { deletionOrder, isPodReady } from "../replication-controller/pods.ts";
import { ownerReference } from "../workloads/revisions.ts";
import { TRACKING_FINALIZER, finishedAt, formatIndexes, hasTracking, indexOf, isFinishedPod, isIndexed, jobPod, matchFailurePolicy, parseIndexes } from "./job-pods.ts";

export type JobCommand =
  | { type: "expectations.set"; creates: number; deleteUids: string[] }
  | { type: "pod.adopt"; pod: Pod }
  | { type: "pod.release"; pod: Pod }
  | { type: "pods.create"; namespace: string; pods: Pod[] }
  | { type: "pods.delete"; namespace: string; pods: { name: string; uid: string }[] }
  /** Copies of pods without the tracking finalizer (written with CAS). */
  | { type: "pods.finalize"; pods: Pod[] }
  | { type: "job.status"; status: JobStatus }
  | { type: "job.delete"; namespace: string; name: string; uid: string }
  | { type: "event.record"; eventType: "Normal" | "Warning"; reason: string; message: string };

/** Commands, and when to look again. */
export type JobDecision = Decision<JobCommand>;

export interface JobView {
  job?: Job;
  /** Pods of the Job's namespace (cache objects: never mutated). */
  pods: readonly Pod[];
  expectationsSatisfied: boolean;
  /** Back-off before the next pod after a failure (Kubernetes: 10 s doubling to 6 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  burst?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 10_000;
export const DEFAULT_BACKOFF_MAX_MS = 360_000;

const isTrue = (s: JobStatus | undefined, type: string) => (s?.conditions ?? []).some((c) => c.type === type && c.status === "True");

function setCondition(conds: JobCondition[], type: string, status: "True" | "False", reason: string, message: string, now: string): JobCondition[] {
  const old = conds.find((c) => c.type === type);
  if (old && old.status === status && old.reason === reason) return conds;
  const next: JobCondition = { type, status, lastProbeTime: now, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now, reason, message };
  return old ? conds.map((c) => (c === old ? next : c)) : [...conds, next];
}

const removeFinalizer = (p: Pod): Pod => {
  const copy = structuredClone(p);
  copy.metadata.finalizers = (copy.metadata.finalizers ?? []).filter((f) => f !== TRACKING_FINALIZER);
  if (copy.metadata.finalizers.length === 0) delete copy.metadata.finalizers;
  return copy;
};

function claim(job: Job, pods: readonly Pod[], commands: JobCommand[]): Pod[] {
  const uid = job.metadata.uid!;
  const owned: Pod[] = [];
  for (const p of pods) {
    const ref = controllerRef(p);
    const matches = matchesSelector(job.spec.selector, p.metadata.labels);
    if (ref?.uid === uid) {
      if (matches) owned.push(p);
      else if (!p.metadata.deletionTimestamp) {
        const copy = removeFinalizer(p);
        copy.metadata.ownerReferences = (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        commands.push({ type: "pod.release", pod: copy });
      }
    } else if (!ref && matches && !p.metadata.deletionTimestamp && !isFinishedPod(p) && !job.metadata.deletionTimestamp) {
      const copy = structuredClone(p);
      copy.metadata.ownerReferences = [...(p.metadata.ownerReferences ?? []), ownerReference({ ...job, template: job.spec.template })];
      commands.push({ type: "pod.adopt", pod: copy });
      owned.push(p);
    }
  }
  return owned;
}

/** Pods of a Job that is gone (or of an older Job of the same name) still holding the tracking finalizer. */
function orphansOf(key: string, job: Job | undefined, pods: readonly Pod[]): Pod[] {
  const name = key.slice(key.indexOf("/") + 1);
  return pods.filter((p) => {
    const ref = controllerRef(p);
    return hasTracking(p) && ref?.kind === "Job" && ref.name === name && ref.uid !== job?.metadata.uid;
  });
}

export function reconcileJob(key: string, view: JobView, nowMs: number): JobDecision {
  const job = view.job;
  const orphans = orphansOf(key, job, view.pods);
  const release: JobCommand[] = orphans.length ? [{ type: "pods.finalize", pods: orphans.map(removeFinalizer) }] : [];
  if (!job) return { commands: release };
  const now = rfc3339(nowMs);
  const ns = job.metadata.namespace!;
  const commands: JobCommand[] = [...release];
  const owned = claim(job, view.pods, commands);
  if (job.metadata.deletionTimestamp) {
    // Going away: let every pod go too.
    const held = owned.filter(hasTracking);
    if (held.length) commands.push({ type: "pods.finalize", pods: held.map(removeFinalizer) });
    return { commands };
  }
  const before = job.status ?? {};
  const spec = job.spec;
  const indexed = isIndexed(spec);
  const completions = spec.completions ?? undefined;
  const requeue: number[] = [];

  // ---- counting finished pods (tracking finalizers) ----
  const uncounted = { succeeded: new Set(before.uncountedTerminatedPods?.succeeded ?? []), failed: new Set(before.uncountedTerminatedPods?.failed ?? []) };
  const byUid = new Map(owned.map((p) => [p.metadata.uid!, p]));
  let failJob: { reason: string; message: string } | undefined;
  for (const p of owned) {
    if (!isFinishedPod(p) || !hasTracking(p)) continue;
    const uid = p.metadata.uid!;
    if (uncounted.succeeded.has(uid) || uncounted.failed.has(uid)) continue;
    if (p.status?.phase === "Succeeded") uncounted.succeeded.add(uid);
    else {
      const m = spec.podFailurePolicy ? matchFailurePolicy(job, p) : undefined;
      if (m?.rule.action === "Ignore") continue;
      if (m?.rule.action === "FailJob") failJob ??= { reason: "PodFailurePolicy", message: m.message };
      uncounted.failed.add(uid);
    }
  }
  // Finished pods are counted; pods on their way out (deleted while running) are let go uncounted.
  const toFinalize = owned.filter((p) => hasTracking(p) && (isFinishedPod(p) || p.metadata.deletionTimestamp));
  const toCount = uncounted.succeeded.size + uncounted.failed.size;
  if (toCount > 0 && (uncounted.succeeded.size !== (before.uncountedTerminatedPods?.succeeded ?? []).length || uncounted.failed.size !== (before.uncountedTerminatedPods?.failed ?? []).length)) {
    commands.push({ type: "job.status", status: { ...before, uncountedTerminatedPods: { succeeded: [...uncounted.succeeded], failed: [...uncounted.failed] } } });
  }
  if (toFinalize.length) commands.push({ type: "pods.finalize", pods: toFinalize.map(removeFinalizer) });
  const succeeded = (before.succeeded ?? 0) + uncounted.succeeded.size;
  const failed = (before.failed ?? 0) + uncounted.failed.size;
  const completed = parseIndexes(before.completedIndexes);
  if (indexed) {
    for (const uid of uncounted.succeeded) {
      const i = byUid.get(uid) && indexOf(byUid.get(uid)!);
      if (i !== undefined && completions !== undefined && i < completions) completed.add(i);
    }
  }

  // ---- what is running ----
  const replaceTerminating = (spec.podReplacementPolicy ?? "TerminatingOrFailed") === "TerminatingOrFailed";
  const running = owned.filter((p) => !isFinishedPod(p));
  const terminating = running.filter((p) => p.metadata.deletionTimestamp);
  const active = running.filter((p) => !p.metadata.deletionTimestamp || !replaceTerminating);
  const deletable = active.filter((p) => !p.metadata.deletionTimestamp);
  let conditions = [...(before.conditions ?? [])];
  let startTime = before.startTime;
  let completionTime = before.completionTime;
  const deletes: Pod[] = [];
  const creates: Pod[] = [];
  // Recorded after the status write that says so: a write refused (the Job changed meanwhile) records
  // nothing, and the retry decides again, so a Job is reported Completed or failed once.
  const events: JobCommand[] = [];
  const event = (eventType: "Normal" | "Warning", reason: string, message: string) => events.push({ type: "event.record", eventType, reason, message });
  const finished = isTrue(before, "Complete") || isTrue(before, "Failed");

  if (!finished) {
    if (spec.suspend) {
      deletes.push(...deletable);
      if (!isTrue(before, "Suspended")) {
        conditions = setCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now);
        event("Normal", "Suspended", "Job suspended");
      }
      startTime = undefined;
    } else {
      if (isTrue(before, "Suspended")) {
        conditions = setCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now);
        event("Normal", "Resumed", "Job resumed");
        startTime = now;
      }
      startTime ??= now;
      const start = Date.parse(startTime);
      const backoffLimit = spec.backoffLimit ?? 6;
      const restarts = spec.template.spec.restartPolicy === "OnFailure" ? active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + c.restartCount, 0), 0) : 0;
      const done = indexed ? completions !== undefined && completed.size >= completions : completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0;
      const failure =
        failJob ??
        (failed > backoffLimit || (restarts > 0 && restarts >= backoffLimit)
          ? { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }
          : spec.activeDeadlineSeconds !== undefined && nowMs - start >= spec.activeDeadlineSeconds * 1000
            ? { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" }
            : undefined);
      if (!done && !failure && spec.activeDeadlineSeconds !== undefined) requeue.push(start + spec.activeDeadlineSeconds * 1000);
      if (failure) {
        deletes.push(...deletable);
        if (!isTrue(before, "FailureTarget")) event("Warning", failure.reason, failure.message);
        conditions = setCondition(conditions, "FailureTarget", "True", failure.reason, failure.message, now);
        if (running.length === 0) conditions = setCondition(conditions, "Failed", "True", failure.reason, failure.message, now);
      } else if (done) {
        deletes.push(...deletable);
        if (running.length === 0) {
          conditions = setCondition(conditions, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", now);
          completionTime = now;
          event("Normal", "Completed", "Job completed");
        }
      } else if (view.expectationsSatisfied) {
        const counted = owned.filter((p) => !(p.status?.phase === "Failed" && spec.podFailurePolicy && matchFailurePolicy(job, p)?.rule.action === "Ignore"));
        const wait = backoffRemaining(counted, view, nowMs);
        if (wait > 0) requeue.push(nowMs + wait);
        const plan = indexed ? manageIndexed(job, active, completed, wait > 0) : manageNonIndexed(job, active, succeeded, wait > 0);
        deletes.push(...plan.deletes);
        creates.push(...plan.creates.slice(0, view.burst ?? 500));
      }
    }
  } else if (isTrue(before, "Failed")) deletes.push(...deletable);

  const uniqueDeletes = [...new Map(deletes.map((p) => [p.metadata.uid!, p])).values()];
  if (view.expectationsSatisfied && (creates.length || uniqueDeletes.length)) {
    commands.push({ type: "expectations.set", creates: creates.length, deleteUids: uniqueDeletes.map((p) => p.metadata.uid!) });
    if (uniqueDeletes.length) commands.push({ type: "pods.delete", namespace: ns, pods: uniqueDeletes.map((p) => ({ name: p.metadata.name!, uid: p.metadata.uid! })) });
    if (creates.length) commands.push({ type: "pods.create", namespace: ns, pods: creates });
  }

  const leaving = new Set(uniqueDeletes.map((p) => p.metadata.uid!));
  const stillActive = active.filter((p) => !leaving.has(p.metadata.uid!));
  const status: JobStatus = {
    ...(conditions.length ? { conditions } : {}),
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    active: stillActive.length + creates.length,
    ready: stillActive.filter(isPodReady).length,
    succeeded,
    failed,
    terminating: terminating.length + uniqueDeletes.length,
    ...(indexed ? { completedIndexes: formatIndexes(completed) } : {}),
    uncountedTerminatedPods: {},
  };
  if (JSON.stringify(before) !== JSON.stringify(status)) commands.push({ type: "job.status", status });
  commands.push(...events);

  // ttlSecondsAfterFinished: the Job (and, through the garbage collector, its pods) goes.
  const finish = (status.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  if (finish && spec.ttlSecondsAfterFinished !== undefined) {
    const expires = Date.parse(finish.lastTransitionTime ?? now) + spec.ttlSecondsAfterFinished * 1000;
    if (nowMs >= expires) commands.push({ type: "job.delete", namespace: ns, name: job.metadata.name!, uid: job.metadata.uid! });
    else requeue.push(expires);
  }
  return requeue.length ? { commands, requeueAfterMs: Math.max(0, Math.min(...requeue) - nowMs) } : { commands };
}

/** Time left before a new pod may start after failures: base · 2^(failures since the last success − 1). */
function backoffRemaining(owned: readonly Pod[], view: JobView, now: number): number {
  const lastSuccess = Math.max(0, ...owned.filter((p) => p.status?.phase === "Succeeded").map(finishedAt));
  const failures = owned.filter((p) => p.status?.phase === "Failed" && finishedAt(p) >= lastSuccess);
  if (failures.length === 0) return 0;
  const base = view.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const delay = Math.min(view.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, base * 2 ** (failures.length - 1));
  return Math.max(0, Math.max(...failures.map(finishedAt)) + delay - now);
}

interface Manage {
  creates: Pod[];
  deletes: Pod[];
}

function manageNonIndexed(job: Job, active: readonly Pod[], succeeded: number, backingOff: boolean): Manage {
  const parallelism = job.spec.parallelism ?? 1;
  const completions = job.spec.completions;
  const want = completions !== undefined && completions !== null ? Math.min(parallelism, Math.max(0, completions - succeeded)) : succeeded > 0 ? 0 : parallelism;
  const diff = want - active.length;
  if (diff > 0) return { creates: backingOff ? [] : Array.from({ length: diff }, () => jobPod(job)), deletes: [] };
  if (diff < 0) return { creates: [], deletes: [...active].filter((p) => !p.metadata.deletionTimestamp).sort(deletionOrder).slice(0, -diff) };
  return { creates: [], deletes: [] };
}

function manageIndexed(job: Job, active: readonly Pod[], completed: ReadonlySet<number>, backingOff: boolean): Manage {
  const completions = job.spec.completions ?? 0;
  const parallelism = job.spec.parallelism ?? 1;
  const deletes: Pod[] = [];
  const running = new Set<number>();
  // One active pod per pending index: drop extras, pods of finished indexes and pods without a valid index.
  for (const p of [...active].sort((a, b) => Date.parse(a.metadata.creationTimestamp ?? "") - Date.parse(b.metadata.creationTimestamp ?? ""))) {
    const i = indexOf(p);
    if (i === undefined || i >= completions || completed.has(i) || running.has(i)) {
      if (!p.metadata.deletionTimestamp) deletes.push(p);
    } else running.add(i);
  }
  const room = Math.max(0, parallelism - running.size);
  const pending: number[] = [];
  for (let i = 0; i < completions && pending.length < room; i++) if (!completed.has(i) && !running.has(i)) pending.push(i);
  return { creates: backingOff ? [] : pending.map((i) => jobPod(job, i)), deletes };
}
