/**
 * The CronJob controller's pure step (Kubernetes' cronjob ControllerV2.syncCronJob): one CronJob,
 * the Jobs of its namespace and the time → commands, and when the next schedule is due.
 *
 * - the most recent unmet schedule time since lastScheduleTime (or creation) starts one Job named
 *   `<cronjob>-<minutes since the epoch>`: after downtime at most one catch-up run, never one per
 *   missed time; more than 100 missed times is reported (TooManyMissedTimes), as Kubernetes does;
 * - startingDeadlineSeconds: a time older than that is missed (MissSchedule), not run;
 * - concurrencyPolicy Allow / Forbid (skip while a Job is active) / Replace (delete the active ones);
 * - the active list follows the Jobs (finished ones leave it, lastSuccessfulTime advances), and
 *   finished Jobs beyond successful/failedJobsHistoryLimit are deleted, oldest first.
 */
import type { CronJob, CronJobStatus, Job, ObjectReference } from "../../bus/resources.ts";
import type { Schedule } from "../../bus/cron.ts";
import type { Decision } from "../../runtime/controller.ts";
import { parseSchedule, nextAfter } from "../../bus/cron.ts";
import { rfc3339 } from "../../bus/time.ts";
import { controllerRef } from "../../bus/owners.ts";
import { ownerReference } from "../workloads/revisions.ts";

export type CronJobCommand =
  | { type: "cronjob.status"; status: CronJobStatus }
  /** Create the Job, then record it: active += it, lastScheduleTime = scheduledTime. */
  | { type: "job.start"; job: Job; scheduledTime: string }
  | { type: "job.delete"; namespace: string; name: string; uid: string }
  | { type: "event.record"; eventType: "Normal" | "Warning"; reason: string; message: string };

/** Commands, and when to look again. */
export type CronJobDecision = Decision<CronJobCommand>;

export interface CronJobView {
  cronJob?: CronJob;
  /** Jobs of the CronJob's namespace (cache objects: never mutated). */
  jobs: readonly Job[];
}

export const SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/** How long a just-started Job may be missing from the cache before its active entry is dropped. */
export const MISSING_GRACE_MS = 30_000;
const NEXT_SCHEDULE_DELTA_MS = 100;
const TOO_MANY_MISSED = 100;

const finishedAs = (j: Job): "Complete" | "Failed" | undefined =>
  (j.status?.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")?.type as "Complete" | "Failed" | undefined;

/** `<cronjob>-<scheduled time in minutes since the epoch>`: one name per schedule time. */
export const jobName = (cj: CronJob, scheduled: number) => `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;

/** RFC 3339 in the CronJob's zone (`2026-03-01T13:00:00+01:00`), as the scheduled-timestamp annotation carries it. */
export function zonedRfc3339(t: number, timeZone: string): string {
  if (timeZone === "UTC") return rfc3339(t);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "longOffset" })
      .formatToParts(new Date(t))
      .map((p) => [p.type, p.value]),
  );
  const offset = parts.timeZoneName === "GMT" ? "Z" : String(parts.timeZoneName).replace("GMT", "");
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

export function jobFromTemplate(cj: CronJob, scheduled: number, timeZone: string): Job {
  const t = cj.spec.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduled),
      namespace: cj.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP]: zonedRfc3339(scheduled, timeZone) },
      ownerReferences: [{ ...ownerReference({ ...cj, template: t.spec.template }) }],
    },
    spec: structuredClone(t.spec),
  };
}

interface Recent {
  earliest: number;
  mostRecent?: number;
  missed: number;
}

/** mostRecentScheduleTime: the latest schedule time ≤ now since `earliest`, and how many were missed. */
export function mostRecentScheduleTime(cj: CronJob, s: Schedule, now: number, withDeadline: boolean): Recent {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? "") || now;
  if (withDeadline && cj.spec.startingDeadlineSeconds !== undefined) earliest = Math.max(earliest, now - cj.spec.startingDeadlineSeconds * 1000);
  const t1 = nextAfter(s, new Date(earliest)).getTime();
  if (now < t1) return { earliest, missed: 0 };
  const t2 = nextAfter(s, new Date(t1)).getTime();
  if (now < t2) return { earliest, mostRecent: t1, missed: 1 };
  const period = Math.max(1000, Math.round((t2 - t1) / 1000) * 1000);
  const missed = Math.floor((now - t1) / period) + 1;
  // Jump close to now instead of stepping through every missed time, then let the schedule find the last one.
  let t = nextAfter(s, new Date(Math.max(earliest, t1 + (missed - 2) * period))).getTime();
  let mostRecent = t1;
  while (t <= now) {
    mostRecent = t;
    t = nextAfter(s, new Date(t)).getTime();
  }
  return { earliest, mostRecent, missed };
}

/** When to look again: the next schedule time after the most recent one (or after now). */
function nextCheck(cj: CronJob, s: Schedule, now: number): number {
  const r = mostRecentScheduleTime(cj, s, now, false);
  const from = r.mostRecent ?? (r.missed === 0 ? r.earliest : now);
  return nextAfter(s, new Date(from)).getTime() + NEXT_SCHEDULE_DELTA_MS - now;
}

const refTo = (j: Job): ObjectReference => ({ kind: "Job", namespace: j.metadata.namespace, name: j.metadata.name, uid: j.metadata.uid, apiVersion: "batch/v1", resourceVersion: j.metadata.resourceVersion });

export function reconcileCronJob(_key: string, view: CronJobView, now: number): CronJobDecision {
  const cj = view.cronJob;
  if (!cj) return { commands: [] };
  const commands: CronJobCommand[] = [];
  const event = (eventType: "Normal" | "Warning", reason: string, message: string) => commands.push({ type: "event.record", eventType, reason, message });
  const ns = cj.metadata.namespace!;
  const owned = view.jobs.filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
  const before = cj.status ?? {};
  let active = [...(before.active ?? [])];
  let lastSuccessfulTime = before.lastSuccessfulTime;
  const inActive = (uid: string | undefined) => active.some((r) => r.uid === uid);

  for (const j of owned) {
    const done = finishedAs(j);
    if (!inActive(j.metadata.uid) && !done) {
      if (j.metadata.annotations?.["cronjob.kubernetes.io/instantiate"] !== "manual") event("Warning", "UnexpectedJob", `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
    } else if (inActive(j.metadata.uid) && done) {
      active = active.filter((r) => r.uid !== j.metadata.uid);
      event("Normal", "SawCompletedJob", `Saw completed job: ${j.metadata.name}, condition: ${done}`);
    }
    if (done === "Complete" && j.status?.completionTime && (!lastSuccessfulTime || Date.parse(j.status.completionTime) > Date.parse(lastSuccessfulTime))) {
      lastSuccessfulTime = j.status.completionTime;
    }
  }
  // Active entries whose Job is gone (a just-started Job may simply not be in the cache yet).
  const lastSchedule = Date.parse(before.lastScheduleTime ?? "");
  for (const r of [...active]) {
    if (owned.some((j) => j.metadata.uid === r.uid)) continue;
    const justStarted = r.name === jobName(cj, lastSchedule) && now - lastSchedule < MISSING_GRACE_MS;
    if (justStarted) continue;
    active = active.filter((x) => x !== r);
    event("Normal", "MissingJob", `Active job went missing: ${r.name}`);
  }

  const finishedJobs = historyToDelete(cj, owned);
  let requeueAfterMs: number | undefined;
  let start: { job: Job; scheduledTime: string } | undefined;
  const deletes: Job[] = [...finishedJobs];

  if (!cj.metadata.deletionTimestamp && !cj.spec.suspend) {
    let schedule: Schedule | undefined;
    try {
      schedule = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    } catch (e) {
      event("Warning", cj.spec.timeZone && !cj.spec.schedule.includes("TZ=") ? "UnknownTimeZone" : "UnparseableSchedule", `unparseable schedule: ${JSON.stringify(cj.spec.schedule)} : ${(e as Error).message}`);
    }
    if (schedule) {
      const r = mostRecentScheduleTime(cj, schedule, now, true);
      if (r.missed > TOO_MANY_MISSED) event("Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
      const scheduled = r.mostRecent;
      requeueAfterMs = nextCheck(cj, schedule, now);
      const tooLate = scheduled !== undefined && cj.spec.startingDeadlineSeconds !== undefined && scheduled + cj.spec.startingDeadlineSeconds * 1000 < now;
      if (scheduled === undefined) {
        // Nothing due yet.
      } else if (tooLate) {
        event("Warning", "MissSchedule", `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace("GMT", "+0000")}`);
      } else if (active.some((a) => a.name === jobName(cj, scheduled)) || before.lastScheduleTime === rfc3339(scheduled)) {
        // Already done for this time.
      } else if (cj.spec.concurrencyPolicy === "Forbid" && active.length > 0) {
        event("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
      } else {
        if (cj.spec.concurrencyPolicy === "Replace") {
          for (const a of active) {
            const j = owned.find((x) => x.metadata.uid === a.uid);
            if (j) deletes.push(j);
          }
          active = [];
        }
        start = { job: jobFromTemplate(cj, scheduled, schedule.timeZone), scheduledTime: rfc3339(scheduled) };
      }
    }
  }

  const deleted = new Set(deletes.map((j) => j.metadata.uid));
  active = active.filter((a) => !deleted.has(a.uid));
  const status: CronJobStatus = { ...before, ...(active.length ? { active } : {}), ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}) };
  if (!active.length) delete status.active;
  if (JSON.stringify(status) !== JSON.stringify(before)) commands.push({ type: "cronjob.status", status });
  for (const j of new Map(deletes.map((x) => [x.metadata.uid, x])).values()) {
    commands.push({ type: "job.delete", namespace: ns, name: j.metadata.name!, uid: j.metadata.uid! });
  }
  if (start) commands.push({ type: "job.start", ...start });
  return requeueAfterMs !== undefined ? { commands, requeueAfterMs: Math.max(0, requeueAfterMs) } : { commands };
}

/** cleanupFinishedJobs: finished Jobs beyond the history limits, oldest first. */
function historyToDelete(cj: CronJob, owned: readonly Job[]): Job[] {
  const started = (j: Job) => Date.parse(j.status?.startTime ?? j.metadata.creationTimestamp ?? "") || 0;
  const pick = (as: "Complete" | "Failed", limit: number | undefined) => {
    if (limit === undefined) return [];
    const done = owned.filter((j) => finishedAs(j) === as && !j.metadata.deletionTimestamp).sort((a, b) => started(a) - started(b));
    return done.slice(0, Math.max(0, done.length - limit));
  };
  return [...pick("Complete", cj.spec.successfulJobsHistoryLimit), ...pick("Failed", cj.spec.failedJobsHistoryLimit)];
}

export { refTo };
