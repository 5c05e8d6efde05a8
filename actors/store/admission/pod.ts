/** Pods and pod templates: SetDefaults_PodSpec, ValidatePodSpec, ValidatePodUpdate, ValidatePodStatusUpdate. */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { type Path, type Rec, path, invalid, required, notSupported, forbidden, wrongType, deepEqual, isRec, isInt, rec, arr, str } from "./field.ts";
import { isDNS1123Label, isDNS1123Subdomain, isValidIP, nameIsDNSSubdomain } from "./names.ts";
import { validateLabels, validateAnnotations, validateMemberName } from "./meta.ts";
import { defaultContainer, validateContainers } from "./container.ts";
import { validateTolerations, validateOnlyAddedTolerations, addDefaultTolerations, DEFAULT_TOLERATION_SECONDS } from "./tolerations.ts";
import { validateAffinity, validateTopologySpread } from "./scheduling.ts";
import { parseQuantity } from "../../../bus/quantity.ts";
import { createHash } from "node:crypto";
import { admitServiceAccount } from "./service-account.ts";
import { validateMirrorPodUpdate } from "./mirror-pod.ts";

const RESTART_POLICIES = ["Always", "Never", "OnFailure"] as const;
const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] as const;
const PHASES = ["Failed", "Pending", "Running", "Succeeded", "Unknown"] as const;
const CONDITION_STATUSES = ["False", "True", "Unknown"] as const;
const MAX_INT32 = 2147483647;

/** SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Volume. Mutates `spec`. */
export function defaultPodSpec(spec: Rec): void {
  spec.dnsPolicy ??= "ClusterFirst";
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= "default-scheduler";
  spec.enableServiceLinks ??= true;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers)]) if (isRec(c)) defaultContainer(c, hostNetwork);
  for (const v of arr(spec.volumes)) {
    if (!isRec(v)) continue;
    if (Object.keys(v).every((k) => k === "name")) v.emptyDir = {};
    if (isRec(v.configMap)) v.configMap.defaultMode ??= 420;
    if (isRec(v.secret)) v.secret.defaultMode ??= 420;
    if (isRec(v.hostPath)) v.hostPath.type ??= "";
  }
}

function validateVolumes(volumes: unknown, p: Path): { errs: Cause[]; names: Set<string> } {
  const errs = wrongType(p, volumes, "array");
  const names = new Set<string>();
  arr(volumes).forEach((raw, i) => {
    const vp = p.index(i);
    const v = rec(raw);
    errs.push(...validateMemberName(v.name, vp.child("name"), names, isDNS1123Label));
    const sources = Object.keys(v).filter((k) => k !== "name" && v[k] !== undefined && v[k] !== null);
    if (sources.length === 0) errs.push(required(vp, "must specify a volume type"));
    for (const extra of sources.slice(1)) errs.push(forbidden(vp.child(extra), "may not specify more than 1 volume type"));
    if (sources[0] === "hostPath" && !str(rec(v.hostPath).path)) errs.push(required(vp.child("hostPath", "path")));
    if (sources[0] === "configMap" && !str(rec(v.configMap).name)) errs.push(required(vp.child("configMap", "name")));
    if (sources[0] === "secret" && !str(rec(v.secret).secretName)) errs.push(required(vp.child("secret", "secretName")));
    if (sources[0] === "persistentVolumeClaim" && !str(rec(v.persistentVolumeClaim).claimName)) errs.push(required(vp.child("persistentVolumeClaim", "claimName")));
  });
  return { errs, names };
}

/** ValidatePodSpec; `isPod` is false for templates inside workloads. */
export function validatePodSpec(specRaw: unknown, p: Path, isPod: boolean): Cause[] {
  if (!isRec(specRaw)) return specRaw === undefined ? [required(p)] : wrongType(p, specRaw, "object");
  const spec = specRaw;
  const { errs, names: volumes } = validateVolumes(spec.volumes, p.child("volumes"));
  const scope = { volumes, names: new Set<string>(), hostPorts: new Set<string>(), isPod };
  errs.push(...validateContainers(spec.initContainers ?? [], p.child("initContainers"), scope, true));
  if (arr(spec.containers).length === 0 && !wrongType(p.child("containers"), spec.containers, "array").length)
    errs.push(required(p.child("containers")));
  else errs.push(...validateContainers(spec.containers, p.child("containers"), scope, false));
  if (!(RESTART_POLICIES as readonly unknown[]).includes(spec.restartPolicy))
    errs.push(spec.restartPolicy ? notSupported(p.child("restartPolicy"), spec.restartPolicy, RESTART_POLICIES) : required(p.child("restartPolicy")));
  if (!(DNS_POLICIES as readonly unknown[]).includes(spec.dnsPolicy)) errs.push(notSupported(p.child("dnsPolicy"), spec.dnsPolicy ?? "", DNS_POLICIES));
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && !(isInt(grace) && grace >= 0)) errs.push(invalid(p.child("terminationGracePeriodSeconds"), grace, "must be greater than or equal to 0"));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null && !(isInt(ads) && ads >= 1 && ads <= MAX_INT32))
    errs.push(invalid(p.child("activeDeadlineSeconds"), ads, `must be between 1 and ${MAX_INT32}, inclusive`));
  errs.push(...validateLabels(spec.nodeSelector, p.child("nodeSelector")));
  for (const [f, check] of [["nodeName", isDNS1123Subdomain], ["hostname", isDNS1123Label], ["subdomain", isDNS1123Label],
    ["schedulerName", isDNS1123Subdomain], ["serviceAccountName", isDNS1123Subdomain], ["priorityClassName", isDNS1123Subdomain]] as const) {
    const v = spec[f];
    if (v === undefined || v === "") continue;
    if (typeof v !== "string") errs.push(...wrongType(p.child(f), v, "string"));
    else for (const m of check(v)) errs.push(invalid(p.child(f), v, m));
  }
  if (spec.priority !== undefined && !isInt(spec.priority)) errs.push(invalid(p.child("priority"), spec.priority, "must be an integer"));
  errs.push(...validateTolerations(spec.tolerations, p.child("tolerations")));
  errs.push(...validateAffinity(spec.affinity, p.child("affinity")));
  errs.push(...validateTopologySpread(spec.topologySpreadConstraints, p.child("topologySpreadConstraints")));
  return errs;
}

/** ValidatePodTemplateSpec: the template's labels, annotations and pod spec. */
export function validatePodTemplate(tpl: unknown, p: Path): Cause[] {
  if (!isRec(tpl)) return tpl === undefined ? [required(p)] : wrongType(p, tpl, "object");
  const meta = rec(tpl.metadata);
  return [
    ...validateLabels(meta.labels, p.child("metadata", "labels")),
    ...validateAnnotations(meta.annotations, p.child("metadata", "annotations")),
    ...validatePodSpec(tpl.spec, p.child("spec"), false),
  ];
}

/** The QoS class Kubernetes records in status.qosClass. */
export function qosClass(spec: Rec): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...arr(spec.initContainers), ...arr(spec.containers)].map(rec);
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = rec(c.resources);
    const req = rec(r.requests);
    const lim = rec(r.limits);
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const name of ["cpu", "memory"]) {
      const l = lim[name];
      const q = req[name] ?? l;
      if (l === undefined || q === undefined || !sameQuantity(q, l)) guaranteed = false;
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}
function sameQuantity(a: unknown, b: unknown): boolean {
  try {
    return parseQuantity(a as string) === parseQuantity(b as string);
  } catch {
    return false;
  }
}

const UPDATABLE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

function validatePodSpecUpdate(next: Rec, prev: Rec, p: Path): Cause[] {
  const errs: Cause[] = [];
  const ads = next.activeDeadlineSeconds;
  if (isInt(prev.activeDeadlineSeconds)) {
    if (ads === undefined || ads === null) errs.push(invalid(p.child("activeDeadlineSeconds"), null, "must not update from a positive integer to nil value"));
    else if (isInt(ads) && ads > prev.activeDeadlineSeconds) errs.push(invalid(p.child("activeDeadlineSeconds"), ads, "must be less than or equal to previous value"));
  }
  errs.push(...validateOnlyAddedTolerations(next.tolerations, prev.tolerations, p.child("tolerations")));
  // Everything else must be unchanged: copy the updatable fields from the new spec onto the old one and compare.
  const munged: Rec = structuredClone(next);
  for (const list of ["containers", "initContainers"]) {
    arr(munged[list]).forEach((c, i) => {
      const before = arr(prev[list])[i];
      if (isRec(c) && isRec(before)) c.image = before.image;
    });
  }
  munged.activeDeadlineSeconds = prev.activeDeadlineSeconds;
  munged.tolerations = prev.tolerations;
  if (isInt(prev.terminationGracePeriodSeconds) && prev.terminationGracePeriodSeconds < 0 && next.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = prev.terminationGracePeriodSeconds;
  // Binding sets spec.nodeName once; Flotilla lets that write through the ordinary update path too.
  if (!str(prev.nodeName)) munged.nodeName = prev.nodeName;
  if (!deepEqual(munged, prev)) {
    const changed = [...new Set([...Object.keys(munged), ...Object.keys(prev)])].filter((k) => !deepEqual(munged[k], prev[k]));
    errs.push(forbidden(p, `${UPDATABLE}\nchanged: ${changed.map((k) => `spec.${k}`).join(", ")}`));
  }
  return errs;
}

function validatePodStatus(status: unknown, p: Path): Cause[] {
  if (status === undefined) return [];
  if (!isRec(status)) return wrongType(p, status, "object");
  const errs: Cause[] = [];
  if (status.phase !== undefined && !(PHASES as readonly unknown[]).includes(status.phase)) errs.push(notSupported(p.child("phase"), status.phase, PHASES));
  for (const f of ["podIP", "hostIP"]) if (str(status[f])) for (const m of isValidIP(str(status[f]))) errs.push(invalid(p.child(f), status[f], m));
  for (const f of ["podIPs", "hostIPs"]) {
    errs.push(...wrongType(p.child(f), status[f], "array"));
    arr(status[f]).forEach((x, i) => {
      for (const m of isValidIP(str(rec(x).ip))) errs.push(invalid(p.child(f).index(i).child("ip"), rec(x).ip ?? "", m));
    });
  }
  if (str(status.nominatedNodeName)) for (const m of isDNS1123Subdomain(str(status.nominatedNodeName))) errs.push(invalid(p.child("nominatedNodeName"), status.nominatedNodeName, m));
  errs.push(...wrongType(p.child("conditions"), status.conditions, "array"));
  arr(status.conditions).forEach((raw, i) => {
    const c = rec(raw);
    if (!str(c.type)) errs.push(required(p.child("conditions").index(i).child("type")));
    if (!(CONDITION_STATUSES as readonly unknown[]).includes(c.status)) errs.push(notSupported(p.child("conditions").index(i).child("status"), c.status ?? "", CONDITION_STATUSES));
  });
  for (const list of ["initContainerStatuses", "containerStatuses"]) {
    errs.push(...wrongType(p.child(list), status[list], "array"));
    arr(status[list]).forEach((raw, i) => {
      const s = rec(raw);
      const sp = p.child(list).index(i);
      if (!str(s.name)) errs.push(required(sp.child("name")));
      if (s.restartCount !== undefined && !(isInt(s.restartCount) && s.restartCount >= 0)) errs.push(invalid(sp.child("restartCount"), s.restartCount, "must be greater than or equal to 0"));
    });
  }
  return errs;
}

/** Five characters of [a-z0-9] that differ between pods (Kubernetes picks them at random). */
function volumeSuffix(obj: KubeObject, now: Date): string {
  const m = obj.metadata;
  const h = createHash("sha256").update(`${m.namespace ?? ""}/${m.name ?? ""}/${m.generateName ?? ""}/${m.uid ?? ""}/${now.toISOString()}/${process.hrtime.bigint()}`).digest();
  return [...h.subarray(0, 5)].map((b) => "bcdfghjklmnpqrstvwxz2456789"[b % 27]).join("");
}

export const podAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  defaults(obj, ctx) {
    if (!isRec(obj.spec)) return;
    defaultPodSpec(obj.spec);
    addDefaultTolerations(obj.spec, ctx.options?.defaultTolerationSeconds ?? DEFAULT_TOLERATION_SECONDS);
  },
  prepareCreate(obj, ctx) {
    const spec = rec(obj.spec);
    spec.priority ??= 0;
    if (isRec(obj.spec)) admitServiceAccount(obj.spec, volumeSuffix(obj, ctx.now()));
    obj.status = { phase: "Pending", qosClass: qosClass(spec) };
  },
  validate: (obj) => validatePodSpec(obj.spec, path("spec"), true),
  validateUpdate: (obj: KubeObject, old: KubeObject) => [
    ...validateMirrorPodUpdate(obj, old),
    ...(isRec(obj.spec) && isRec(old.spec) ? validatePodSpecUpdate(obj.spec, old.spec, path("spec")) : []),
  ],
  defaultStatus(obj, ctx) {
    const status = rec(obj.status);
    const before = rec(ctx.old?.status);
    if (isRec(obj.status) && status.qosClass === undefined && before.qosClass !== undefined) status.qosClass = before.qosClass;
  },
  validateStatus: (obj) => validatePodStatus(obj.status, path("status")),
};
