/**
 * A StatefulSet's PersistentVolumeClaims (Kubernetes' volumeClaimTemplates and KEP-1847's
 * `persistentVolumeClaimRetentionPolicy`), as pure functions of the set, an ordinal and the claims
 * that exist:
 *
 * - ordinal N of set `web` with template `data` gets the claim `data-web-N`: the template's spec,
 *   labels and annotations, plus the set's `selector.matchLabels` (getPersistentVolumeClaims);
 * - the pod's volume of the template's name becomes `persistentVolumeClaim: data-web-N`, replacing
 *   a template volume of the same name (updateStorage);
 * - a claim is never deleted by this controller. Ownership decides what the garbage collector does:
 *   `whenDeleted: Delete` → the claim is owned by the set; `whenScaled: Delete` → the claim of an
 *   ordinal scaled away is owned by its pod (so it goes once the pod has gone); Retain/Retain (the
 *   default) → neither, and the claims outlive pods, scale-downs and the set;
 * - a claim owned by a pod of its ordinal that is not the pod in hand (a scaled-down pod's claim the
 *   garbage collector has not deleted yet) is stale: the ordinal's new pod waits for it to go
 *   (PodClaimIsStale), so it never starts on data about to be deleted.
 */
import type { OwnerReference, Pod, PodSpec, StatefulSet, Volume } from "../../bus/resources.ts";
import type { PersistentVolumeClaim } from "../../bus/storage.ts";
import { controllerRef } from "../../bus/owners.ts";

export const RetentionPolicy = { Retain: "Retain", Delete: "Delete" } as const;
export type RetentionPolicy = (typeof RetentionPolicy)[keyof typeof RetentionPolicy];

export const templatesOf = (set: StatefulSet): readonly PersistentVolumeClaim[] => set.spec.volumeClaimTemplates ?? [];

/** `<template>-<set>-<ordinal>` (getPersistentVolumeClaimName). */
export const claimName = (template: PersistentVolumeClaim, set: StatefulSet, ordinal: number): string => `${template.metadata.name}-${set.metadata.name}-${ordinal}`;

export function retentionOf(set: StatefulSet): { whenDeleted: RetentionPolicy; whenScaled: RetentionPolicy } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted === "Delete" ? "Delete" : "Retain", whenScaled: p?.whenScaled === "Delete" ? "Delete" : "Retain" };
}

const setRef = (set: StatefulSet): OwnerReference => ({ apiVersion: "apps/v1", kind: "StatefulSet", name: set.metadata.name!, uid: set.metadata.uid! });
const podRef = (pod: Pod): OwnerReference => ({ apiVersion: "v1", kind: "Pod", name: pod.metadata.name!, uid: pod.metadata.uid! });

/** The claims ordinal N's pod uses, as they are created (owner references for a pod in range, which has none yet). */
export function claimsFor(set: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const retention = retentionOf(set);
  return templatesOf(set).map((t) => {
    const meta = t.metadata ?? {};
    return {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: claimName(t, set, ordinal),
        namespace: set.metadata.namespace,
        labels: { ...(meta.labels ?? {}), ...(set.spec.selector.matchLabels ?? {}) },
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ...(retention.whenDeleted === RetentionPolicy.Delete ? { ownerReferences: [setRef(set)] } : {}),
      },
      spec: structuredClone(t.spec ?? {}),
    };
  });
}

/** The pod spec with one `persistentVolumeClaim` volume per template (a template volume of the same name gives way). */
export function withClaimVolumes(spec: PodSpec, set: StatefulSet, ordinal: number): PodSpec {
  const templates = templatesOf(set);
  if (templates.length === 0) return spec;
  const names = new Set(templates.map((t) => t.metadata.name));
  const claims: Volume[] = templates.map((t) => ({ name: t.metadata.name!, persistentVolumeClaim: { claimName: claimName(t, set, ordinal) } }));
  return { ...spec, volumes: [...claims, ...(spec.volumes ?? []).filter((v) => !names.has(v.name))] };
}

/** Whether the pod's spec mounts every claim its ordinal should (storageMatches). */
export function storageMatches(set: StatefulSet, pod: Pod, ordinal: number): boolean {
  return templatesOf(set).every((t) => pod.spec.volumes?.some((v) => v.name === t.metadata.name && v.persistentVolumeClaim?.claimName === claimName(t, set, ordinal)));
}

const sameRef = (a: OwnerReference, uid: string) => a.uid === uid;

/**
 * The owner references a claim should carry for the pod of its ordinal (updateClaimOwnerRefForSetAndPod),
 * or undefined when it already does. `inRange`: the pod's ordinal is within the set's replicas.
 * A claim another controller manages is left alone.
 */
export function retentionRefs(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod, inRange: boolean): OwnerReference[] | undefined {
  const ctl = controllerRef(claim);
  if (ctl && ctl.uid !== set.metadata.uid && ctl.uid !== pod.metadata.uid) return undefined;
  const { whenDeleted, whenScaled } = retentionOf(set);
  const wantSet = whenDeleted === RetentionPolicy.Delete && (whenScaled === RetentionPolicy.Retain || inRange);
  const wantPod = whenScaled === RetentionPolicy.Delete && !inRange;
  const refs = claim.metadata.ownerReferences ?? [];
  const hasSet = refs.some((r) => sameRef(r, set.metadata.uid!));
  const hasPod = refs.some((r) => sameRef(r, pod.metadata.uid!));
  if (hasSet === wantSet && hasPod === wantPod) return undefined;
  const others = refs.filter((r) => !sameRef(r, set.metadata.uid!) && !sameRef(r, pod.metadata.uid!));
  return [...others, ...(wantSet ? [setRef(set)] : []), ...(wantPod ? [podRef(pod)] : [])];
}

/**
 * hasStaleOwnerRef: the claim is owned by a pod of this name that is not `pod` (or by any pod of
 * that name when the pod does not exist yet). Only `whenScaled: Delete` can make such claims.
 */
export function isStale(claim: PersistentVolumeClaim, podName: string, podUid: string | undefined): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.kind === "Pod" && r.name === podName && r.uid !== podUid);
}

/** What ordinal N's claims need before its pod may be created: the claims to create, or why to wait. */
export function claimsToCreate(set: StatefulSet, ordinal: number, existing: ReadonlyMap<string, PersistentVolumeClaim>, podName: string): { create: PersistentVolumeClaim[]; wait?: string } {
  const create: PersistentVolumeClaim[] = [];
  const checkStale = retentionOf(set).whenScaled === RetentionPolicy.Delete;
  for (const claim of claimsFor(set, ordinal)) {
    const cur = existing.get(claim.metadata.name!);
    if (!cur) create.push(claim);
    else if (cur.metadata.deletionTimestamp) return { create: [], wait: `PersistentVolumeClaim ${cur.metadata.name} is being deleted` };
    else if (checkStale && isStale(cur, podName, undefined)) return { create: [], wait: `PersistentVolumeClaim ${cur.metadata.name} belongs to a pod that was scaled down and is about to be deleted` };
  }
  return { create };
}

/** A pod of the set and its ordinal. */
export type OrdinalPod = readonly [Pod, number];

export type ClaimCommand =
  /** Creates a claim an existing (Pending) pod mounts but that does not exist (createMissingPersistentVolumeClaims). */
  | { type: "claim.create"; claim: PersistentVolumeClaim }
  /** Writes a claim's owner references (CAS on the claim's resourceVersion). */
  | { type: "claim.update"; claim: PersistentVolumeClaim };

/**
 * The claim writes for the pods that exist: missing claims of pods still Pending, and owner
 * references by the retention policy — `inRange` pods as members, `condemned` ones as scaled away.
 */
export function claimCommands(set: StatefulSet, inRange: readonly OrdinalPod[], condemned: readonly OrdinalPod[], existing: ReadonlyMap<string, PersistentVolumeClaim>): ClaimCommand[] {
  const out: ClaimCommand[] = [];
  const visit = ([pod, ordinal]: OrdinalPod, member: boolean) => {
    for (const want of claimsFor(set, ordinal)) {
      const cur = existing.get(want.metadata.name!);
      if (!cur) {
        const pending = !pod.metadata.deletionTimestamp && (pod.status?.phase ?? "Pending") === "Pending";
        if (member && pending) out.push({ type: "claim.create", claim: want });
        continue;
      }
      if (cur.metadata.deletionTimestamp) continue;
      const refs = retentionRefs(cur, set, pod, member);
      if (!refs) continue;
      const claim = structuredClone(cur);
      if (refs.length > 0) claim.metadata.ownerReferences = refs;
      else delete claim.metadata.ownerReferences;
      out.push({ type: "claim.update", claim });
    }
  };
  for (const p of inRange) visit(p, true);
  for (const p of condemned) visit(p, false);
  return out;
}
