/** DaemonSets, StatefulSets and ControllerRevisions (apps/v1 SetDefaults_* and Validate*). */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { Admitter } from "./types.ts";
import { type Path, type Rec, path, invalid, required, notSupported, forbidden, duplicate, deepEqual, isRec, isInt, rec, arr, str } from "./field.ts";
import { isDNS1123Label, isDNS1123Subdomain, nameIsDNSSubdomain } from "./names.ts";
import { validateClaimSpec } from "./storage.ts";
import { validateLabels, validateAnnotations } from "./meta.ts";
import {
  defaultTemplate,
  intOrPercentValue,
  nonNegative,
  selectorImmutable,
  validateAppsSelector,
  validateIntOrPercent,
  validateReplicaCounts,
  validateReplicatedTemplate,
} from "./workloads.ts";

const MISMATCH = "`selector` does not match template `labels`";
const UPDATE_STRATEGIES = ["OnDelete", "RollingUpdate"] as const;

/** IsNotMoreThan100Percent. */
const notOver100 = (v: unknown, p: Path): Cause[] =>
  typeof v === "string" && intOrPercentValue(v) > 100 ? [invalid(p, v, "must not be greater than 100%")] : [];

/** The selector and template shared by DaemonSets and StatefulSets. */
function validateSelectorAndTemplate(spec: Rec, p: Path, kind: string, owner: string): Cause[] {
  const sel = validateAppsSelector(spec, p, kind);
  return [...sel.errs, ...validateReplicatedTemplate(spec.template, sel.matches, p.child("template"), owner, MISMATCH)];
}

// ---------------- DaemonSet ----------------
/** ValidateRollingUpdateDaemonSet: exactly one of maxUnavailable / maxSurge is non-zero. */
function validateDaemonSetStrategy(strategy: unknown, p: Path): Cause[] {
  const s = rec(strategy);
  if (!(UPDATE_STRATEGIES as readonly unknown[]).includes(s.type)) return [notSupported(p.child("type"), s.type ?? "", UPDATE_STRATEGIES)];
  if (s.type !== "RollingUpdate") return [];
  if (!isRec(s.rollingUpdate)) return [required(p.child("rollingUpdate"))];
  const ru = s.rollingUpdate;
  const rp = p.child("rollingUpdate");
  const errs = [
    ...validateIntOrPercent(ru.maxUnavailable, rp.child("maxUnavailable")),
    ...validateIntOrPercent(ru.maxSurge, rp.child("maxSurge")),
    ...notOver100(ru.maxUnavailable, rp.child("maxUnavailable")),
    ...notOver100(ru.maxSurge, rp.child("maxSurge")),
  ];
  const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
  const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
  if (hasUnavailable && hasSurge) errs.push(invalid(rp.child("maxSurge"), ru.maxSurge, "may not be set when maxUnavailable is non-zero"));
  if (!hasUnavailable && !hasSurge) errs.push(required(rp.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
  return errs;
}

const DS_COUNTS = [
  "currentNumberScheduled",
  "numberMisscheduled",
  "desiredNumberScheduled",
  "numberReady",
  "updatedNumberScheduled",
  "numberAvailable",
  "numberUnavailable",
  "collisionCount",
  "observedGeneration",
];

export const daemonSetAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    const strategy = isRec(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = isRec(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
    }
    spec.revisionHistoryLimit ??= 10;
    defaultTemplate(spec);
  },
  prepareCreate(obj) {
    obj.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
  validate(obj) {
    const p = path("spec");
    if (!isRec(obj.spec)) return [required(p)];
    const spec = obj.spec;
    return [
      ...validateSelectorAndTemplate(spec, p, "daemonset", "DaemonSet"),
      ...nonNegative(spec.minReadySeconds, p.child("minReadySeconds")),
      ...nonNegative(spec.revisionHistoryLimit, p.child("revisionHistoryLimit")),
      ...validateDaemonSetStrategy(spec.updateStrategy, p.child("updateStrategy")),
    ];
  },
  validateUpdate: selectorImmutable,
  validateStatus: (obj) => {
    const st = rec(obj.status);
    return DS_COUNTS.flatMap((f) => nonNegative(st[f], path("status", f)));
  },
};

// ---------------- StatefulSet ----------------
const POD_MANAGEMENT = ["OrderedReady", "Parallel"] as const;
const STS_UPDATABLE = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

function validateStatefulSetStrategy(strategy: unknown, p: Path): Cause[] {
  const s = rec(strategy);
  if (!(UPDATE_STRATEGIES as readonly unknown[]).includes(s.type)) return [notSupported(p.child("type"), s.type ?? "", UPDATE_STRATEGIES)];
  if (s.type === "OnDelete")
    return s.rollingUpdate ? [forbidden(p.child("rollingUpdate"), "only allowed for updateStrategy 'RollingUpdate'")] : [];
  const ru = rec(s.rollingUpdate);
  const rp = p.child("rollingUpdate");
  const errs = nonNegative(ru.partition, rp.child("partition"));
  if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
    errs.push(...validateIntOrPercent(ru.maxUnavailable, rp.child("maxUnavailable")), ...notOver100(ru.maxUnavailable, rp.child("maxUnavailable")));
    if (intOrPercentValue(ru.maxUnavailable) === 0) errs.push(invalid(rp.child("maxUnavailable"), ru.maxUnavailable, "must be greater than 0"));
  }
  return errs;
}

const RETENTION = ["Retain", "Delete"] as const;

/** volumeClaimTemplates: named (uniquely), each a valid claim spec; and the retention policy's two values. */
function validateClaimTemplates(spec: Rec, p: Path): Cause[] {
  const errs: Cause[] = [];
  const names = new Set<string>();
  arr(spec.volumeClaimTemplates).forEach((raw, i) => {
    const tp = p.child("volumeClaimTemplates").index(i);
    if (!isRec(raw)) return void errs.push(invalid(tp, raw, "must be an object"));
    const meta = rec(raw.metadata);
    const name = str(meta.name);
    if (!name) errs.push(required(tp.child("metadata", "name"), "name or generateName is required"));
    else {
      for (const m of isDNS1123Subdomain(name)) errs.push(invalid(tp.child("metadata", "name"), name, m));
      if (names.has(name)) errs.push(duplicate(tp.child("metadata", "name"), name));
      names.add(name);
    }
    errs.push(...validateLabels(meta.labels, tp.child("metadata", "labels")), ...validateAnnotations(meta.annotations, tp.child("metadata", "annotations")));
    errs.push(...validateClaimSpec(raw.spec, tp.child("spec")));
  });
  const retention = rec(spec.persistentVolumeClaimRetentionPolicy);
  for (const f of ["whenDeleted", "whenScaled"] as const) {
    if (!(RETENTION as readonly unknown[]).includes(retention[f])) errs.push(notSupported(p.child("persistentVolumeClaimRetentionPolicy", f), retention[f] ?? "", RETENTION));
  }
  return errs;
}

/** The template as its pods will be: each claim template is a volume (so mounts of it are found). */
function withClaimVolumes(spec: Rec): Rec {
  // Only names that can be volumes, once each: a bad or repeated name is reported on the template itself.
  const claims = [...new Set(arr(spec.volumeClaimTemplates).map((t) => str(rec(rec(t).metadata).name)))].filter((n) => n && isDNS1123Label(n).length === 0);
  const tpl = rec(spec.template);
  if (claims.length === 0 || !isRec(tpl.spec)) return spec;
  const volumes = arr(tpl.spec.volumes).filter((v) => !claims.includes(str(rec(v).name)));
  const claimVolumes = claims.map((name) => ({ name, persistentVolumeClaim: { claimName: name } }));
  return { ...spec, template: { ...tpl, spec: { ...tpl.spec, volumes: [...claimVolumes, ...volumes] } } };
}

export const statefulSetAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  tracksGeneration: true,
  defaults(obj) {
    if (!isRec(obj.spec)) return;
    const spec = obj.spec;
    spec.podManagementPolicy ??= "OrderedReady";
    const strategy = isRec(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = isRec(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
      ru.partition ??= 0;
    }
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    const retention = isRec(spec.persistentVolumeClaimRetentionPolicy) ? spec.persistentVolumeClaimRetentionPolicy : (spec.persistentVolumeClaimRetentionPolicy = {});
    retention.whenDeleted ??= "Retain";
    retention.whenScaled ??= "Retain";
    for (const t of arr(spec.volumeClaimTemplates)) if (isRec(t) && isRec(t.spec)) t.spec.volumeMode ??= "Filesystem";
    defaultTemplate(spec);
  },
  prepareCreate(obj) {
    obj.status = { replicas: 0, availableReplicas: 0 };
  },
  validate(obj) {
    const p = path("spec");
    if (!isRec(obj.spec)) return [required(p)];
    const spec = obj.spec;
    const errs = [
      ...nonNegative(spec.replicas, p.child("replicas")),
      ...nonNegative(spec.minReadySeconds, p.child("minReadySeconds")),
      ...nonNegative(spec.revisionHistoryLimit, p.child("revisionHistoryLimit")),
    ];
    if (!(POD_MANAGEMENT as readonly unknown[]).includes(spec.podManagementPolicy))
      errs.push(notSupported(p.child("podManagementPolicy"), spec.podManagementPolicy ?? "", POD_MANAGEMENT));
    if (isRec(spec.ordinals)) errs.push(...nonNegative(spec.ordinals.start, p.child("ordinals", "start")));
    errs.push(...validateStatefulSetStrategy(spec.updateStrategy, p.child("updateStrategy")));
    errs.push(...validateSelectorAndTemplate(withClaimVolumes(spec), p, "statefulset", "StatefulSet"));
    errs.push(...validateClaimTemplates(spec, p));
    return errs;
  },
  validateUpdate(obj, old) {
    const strip = (s: unknown): Rec => Object.fromEntries(Object.entries(rec(s)).filter(([k]) => !STS_UPDATABLE.includes(k)));
    if (deepEqual(strip(obj.spec), strip(old.spec))) return [];
    return [
      forbidden(
        path("spec"),
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    ];
  },
  validateStatus: (obj) =>
    validateReplicaCounts(obj.status, path("status"), ["replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas", "collisionCount"]),
};

// ---------------- ControllerRevision ----------------
export const controllerRevisionAdmitter: Admitter = {
  nameFn: nameIsDNSSubdomain,
  validate(obj: KubeObject) {
    const errs: Cause[] = [];
    if (obj.data === undefined || obj.data === null) errs.push(required(path("data"), "data is mandatory"));
    if (!isInt(obj.revision) || obj.revision < 0) errs.push(invalid(path("revision"), obj.revision ?? null, "must be greater than or equal to 0"));
    return errs;
  },
  validateUpdate: (obj, old) => (deepEqual(obj.data, old.data) ? [] : [invalid(path("data"), "", "field is immutable")]),
};
