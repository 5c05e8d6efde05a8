/** Jobs and CronJobs (batch/v1 SetDefaults_Job / _CronJob, the job strategy's selector, Validate*). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject, LabelSelector, Labels } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { type Path, type Rec, path, invalid, required, notSupported, forbidden, deepEqual, isRec, isInt, rec, arr, str } from "./field.ts";
import { nameIsDNSSubdomain } from "./names.ts";
import { validateLabelSelector, isEmptySelector } from "./meta.ts";
import { defaultTemplate, nonNegative } from "./workloads.ts";
import { validatePodTemplate } from "./pod.ts";
import { matchesSelector } from "../../../bus/selectors.ts";
import { parseSchedule, hasTzPrefix, isTimeZone } from "../../../bus/cron.ts";

/** Labels the job strategy puts on every Job's pod template (batch/v1 constants). */
export const JOB_LABELS = {
  controllerUid: "batch.kubernetes.io/controller-uid",
  legacyControllerUid: "controller-uid",
  jobName: "batch.kubernetes.io/job-name",
  legacyJobName: "job-name",
} as const;

const MAX_INT32 = 2147483647;
const COMPLETION_MODES = ["Indexed", "NonIndexed"] as const;
const RESTART_POLICIES = ["Never", "OnFailure"] as const;
const FAILURE_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"] as const;
const MAX_INDEXED_COMPLETIONS = 100_000;

/** SetDefaults_Job (object level; a CronJob's jobTemplate gets only the pod template defaults). */
function defaultJobSpec(spec: Rec): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? MAX_INT32 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= isRec(spec.podFailurePolicy) ? "Failed" : "TerminatingOrFailed";
  for (const rule of arr(rec(spec.podFailurePolicy).rules)) for (const c of arr(rec(rule).onPodConditions)) if (isRec(c)) c.status ??= "True";
  defaultTemplate(spec);
}

/** The job strategy's generateSelector: job-name and controller-uid labels, selector on the uid. */
function generateSelector(obj: KubeObject, spec: Rec): void {
  if (spec.manualSelector === true) return;
  const tpl = isRec(spec.template) ? spec.template : (spec.template = {});
  const meta = isRec(tpl.metadata) ? tpl.metadata : (tpl.metadata = {});
  const labels = (isRec(meta.labels) ? meta.labels : (meta.labels = {})) as Labels;
  const uid = obj.metadata.uid ?? "";
  for (const k of [JOB_LABELS.legacyJobName, JOB_LABELS.jobName]) labels[k] ??= obj.metadata.name ?? "";
  for (const k of [JOB_LABELS.legacyControllerUid, JOB_LABELS.controllerUid]) labels[k] ??= uid;
  const sel = isRec(spec.selector) ? spec.selector : (spec.selector = {});
  const matchLabels = (isRec(sel.matchLabels) ? sel.matchLabels : (sel.matchLabels = {})) as Labels;
  matchLabels[JOB_LABELS.controllerUid] ??= uid;
}

function validatePodFailurePolicy(policy: unknown, restartPolicy: unknown, p: Path): Cause[] {
  if (policy === undefined || policy === null) return [];
  const errs: Cause[] = [];
  if (restartPolicy !== "Never")
    errs.push(notSupported(path("spec", "template", "spec", "restartPolicy"), restartPolicy ?? "", ["Never"]));
  arr(rec(policy).rules).forEach((raw, i) => {
    const r = rec(raw);
    const rp = p.child("rules").index(i);
    if (!(FAILURE_ACTIONS as readonly unknown[]).includes(r.action)) errs.push(notSupported(rp.child("action"), r.action ?? "", FAILURE_ACTIONS));
    const codes = r.onExitCodes;
    const conditions = r.onPodConditions;
    if ((codes == null) === (conditions == null)) errs.push(invalid(rp, "", "specifying one of OnExitCodes and OnPodConditions is required"));
    if (isRec(codes)) {
      const cp = rp.child("onExitCodes");
      if (codes.operator !== "In" && codes.operator !== "NotIn") errs.push(notSupported(cp.child("operator"), codes.operator ?? "", ["In", "NotIn"]));
      const values = arr(codes.values);
      if (values.length === 0) errs.push(invalid(cp.child("values"), values, "at least one value is required"));
      values.forEach((v, j) => {
        if (!isInt(v)) errs.push(invalid(cp.child("values").index(j), v, "must be an integer"));
        else if (v === 0 && codes.operator === "In") errs.push(invalid(cp.child("values").index(j), v, "must not be 0 for the In operator"));
      });
    }
  });
  return errs;
}

/** ValidateJobSpec (the selector checks only when `needsSelector`: a CronJob's template has none yet). */
function validateJobSpec(specRaw: unknown, p: Path, needsSelector: boolean): Cause[] {
  if (!isRec(specRaw)) return [required(p)];
  const spec = specRaw;
  const errs: Cause[] = [];
  for (const f of ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"])
    errs.push(...nonNegative(spec[f], p.child(f)));
  if (spec.completionMode !== undefined && !(COMPLETION_MODES as readonly unknown[]).includes(spec.completionMode))
    errs.push(notSupported(p.child("completionMode"), spec.completionMode, COMPLETION_MODES));
  if (spec.completionMode === "Indexed") {
    if (!isInt(spec.completions)) errs.push(required(p.child("completions"), "when completion mode is Indexed"));
    else if (spec.completions > MAX_INDEXED_COMPLETIONS) errs.push(invalid(p.child("completions"), spec.completions, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
  }
  const tpl = rec(spec.template);
  const labels = rec(rec(tpl.metadata).labels) as Labels;
  if (needsSelector) {
    const sel = spec.selector;
    if (sel === undefined || sel === null) errs.push(required(p.child("selector")));
    else {
      const selErrs = validateLabelSelector(sel, p.child("selector"));
      errs.push(...selErrs);
      if (!selErrs.length && !isEmptySelector(sel) && !matchesSelector(sel as LabelSelector, labels))
        errs.push(invalid(p.child("template", "metadata", "labels"), labels, "`selector` does not match template `labels`"));
    }
  } else if (spec.selector !== undefined && spec.selector !== null && spec.manualSelector !== true) {
    errs.push(invalid(p.child("selector"), spec.selector, "`selector` will be auto-generated"));
  }
  if (spec.template === undefined || spec.template === null) errs.push(required(p.child("template")));
  else errs.push(...validatePodTemplate(spec.template, p.child("template")));
  const restartPolicy = rec(tpl.spec).restartPolicy;
  if (isRec(tpl.spec) && !(RESTART_POLICIES as readonly unknown[]).includes(restartPolicy))
    errs.push(notSupported(p.child("template", "spec", "restartPolicy"), restartPolicy ?? "", RESTART_POLICIES));
  errs.push(...validatePodFailurePolicy(spec.podFailurePolicy, restartPolicy, p.child("podFailurePolicy")));
  return errs;
}

const immutable = (p: Path, a: unknown, b: unknown): Cause[] => (deepEqual(a, b) ? [] : [invalid(p, a ?? null, "field is immutable")]);

export const jobAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    defaultJobSpec(obj.spec);
    const tplLabels = rec(rec(rec(obj.spec.template).metadata).labels);
    if (Object.keys(tplLabels).length && Object.keys(rec(obj.metadata.labels)).length === 0) obj.metadata.labels = { ...(tplLabels as Labels) };
  },
  prepareCreate(obj) {
    if (isRec(obj.spec)) {
      generateSelector(obj, obj.spec);
      const tplLabels = rec(rec(rec(obj.spec.template).metadata).labels);
      if (Object.keys(rec(obj.metadata.labels)).length === 0) obj.metadata.labels = { ...(tplLabels as Labels) };
    }
    obj.status = {};
  },
  validate: (obj) => validateJobSpec(obj.spec, path("spec"), true),
  validateUpdate(obj, old) {
    const spec = rec(obj.spec);
    const before = rec(old.spec);
    const p = path("spec");
    const errs = [...immutable(p.child("selector"), spec.selector, before.selector), ...immutable(p.child("completionMode"), spec.completionMode, before.completionMode)];
    errs.push(...immutable(p.child("podFailurePolicy"), spec.podFailurePolicy, before.podFailurePolicy));
    // Indexed Jobs may scale completions together with parallelism (elastic Indexed Jobs).
    const elastic = spec.completionMode === "Indexed" && spec.completions === spec.parallelism;
    if (!elastic) errs.push(...immutable(p.child("completions"), spec.completions, before.completions));
    // The template may change only while the Job is suspended and never started.
    const neverStarted = before.suspend === true && !str(rec(old.status).startTime);
    if (!neverStarted) errs.push(...immutable(p.child("template"), spec.template, before.template));
    return errs;
  },
  validateStatus(obj) {
    const st = rec(obj.status);
    const errs: Cause[] = [];
    for (const f of ["active", "succeeded", "failed", "ready", "terminating"]) errs.push(...nonNegative(st[f], path("status", f)));
    return errs;
  },
};

// ---------------- CronJob ----------------
const CONCURRENCY = ["Allow", "Forbid", "Replace"] as const;
const MAX_CRONJOB_NAME = 52;

export const cronJobAdmitter: Admitter = {
  nameFn: (name, prefix) => {
    const errs = nameIsDNSSubdomain(name, prefix);
    return name.length > MAX_CRONJOB_NAME && !prefix ? [...errs, `must be no more than ${MAX_CRONJOB_NAME} characters`] : errs;
  },
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    spec.concurrencyPolicy ??= "Allow";
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const jobSpec = rec(rec(spec.jobTemplate).spec);
    if (isRec(rec(spec.jobTemplate).spec)) defaultTemplate(jobSpec);
  },
  prepareCreate(obj) {
    obj.status = {};
  },
  validate(obj) {
    const p = path("spec");
    if (!isRec(obj.spec)) return [required(p)];
    const spec = obj.spec;
    const errs: Cause[] = [];
    const schedule = spec.schedule;
    const tz = spec.timeZone;
    if (typeof tz === "string" && !isTimeZone(tz)) errs.push(invalid(p.child("timeZone"), tz, `unknown time zone ${tz}`));
    if (!str(schedule)) errs.push(required(p.child("schedule")));
    else if (typeof tz === "string" && hasTzPrefix(str(schedule))) errs.push(invalid(p.child("schedule"), schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
    else {
      try {
        parseSchedule(str(schedule), typeof tz === "string" && isTimeZone(tz) ? tz : undefined);
      } catch (e) {
        errs.push(invalid(p.child("schedule"), schedule, (e as Error).message));
      }
    }
    if (!(CONCURRENCY as readonly unknown[]).includes(spec.concurrencyPolicy)) errs.push(notSupported(p.child("concurrencyPolicy"), spec.concurrencyPolicy ?? "", CONCURRENCY));
    for (const f of ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"]) errs.push(...nonNegative(spec[f], p.child(f)));
    const jt = spec.jobTemplate;
    if (!isRec(jt)) errs.push(required(p.child("jobTemplate")));
    else errs.push(...validateJobSpec(jt.spec, p.child("jobTemplate", "spec"), false));
    return errs;
  },
  validateStatus(obj) {
    const active = rec(obj.status).active;
    return Array.isArray(active) || active === undefined || active === null ? [] : [forbidden(path("status", "active"), "must be a list")];
  },
};
