/**
 * ControllerRevisions for DaemonSets and StatefulSets (Kubernetes' pkg/controller/history): each
 * distinct pod template an owner has had is kept as a revision whose `data` is the strategic merge
 * patch that restores it (`{"spec":{"template":{…,"$patch":"replace"}}}` — exactly what
 * `kubectl rollout undo` applies). Pure: the caller turns the result into commands.
 *
 * The current revision is the owned one whose template equals the owner's; when none does, a new
 * one is made (name `<owner>-<hash>`, revision = highest + 1). A rollback finds an old revision
 * equal to the template and gives it the next number, so history stays ordered by use.
 */
import type { ControllerRevision, KubeObject, OwnerReference, PodTemplateSpec } from "../../bus/resources.ts";
import { controllerRef } from "../../bus/owners.ts";
import { canonicalTemplate, templateHash } from "../deployment-controller/template.ts";

/** The pod label naming the revision a pod was made from (apps/v1 ControllerRevisionHashLabelKey). */
export const REVISION_HASH_LABEL = "controller-revision-hash";

export interface HistoryOwner {
  apiVersion: string;
  kind: string;
  metadata: KubeObject["metadata"];
  template: PodTemplateSpec;
  collisionCount?: number;
}

export interface History {
  /** The revision the owner's template is at (maybe not created yet: see `create`). */
  current: ControllerRevision;
  /** Its hash: the `controller-revision-hash` value DaemonSet pods carry. */
  hash: string;
  /** Every other owned revision, lowest revision first. */
  old: ControllerRevision[];
  /** A revision to create (no owned revision has the template yet). */
  create?: ControllerRevision;
  /** An existing revision whose number must move up (it became current again). */
  renumber?: ControllerRevision;
}

export function ownerReference(o: HistoryOwner): OwnerReference {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** The revision's `data`: the patch that puts this template back. */
export function templatePatch(t: PodTemplateSpec): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...structuredClone(t), $patch: "replace" } } };
}

/** The template a revision restores (its data without the directive). */
export function revisionTemplate(r: ControllerRevision): PodTemplateSpec | undefined {
  const t = (r.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _drop, ...rest } = t;
  return rest as unknown as PodTemplateSpec;
}

export const matchesTemplate = (r: ControllerRevision, t: PodTemplateSpec): boolean => canonicalTemplate(revisionTemplate(r)) === canonicalTemplate(t);

/** Revisions controlled by the owner, lowest revision first (name breaks ties). */
export function ownedRevisions(owner: HistoryOwner, revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return revisions
    .filter((r) => controllerRef(r)?.uid === owner.metadata.uid && !r.metadata.deletionTimestamp)
    .sort((a, b) => a.revision - b.revision || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
}

export function constructHistory(owner: HistoryOwner, revisions: readonly ControllerRevision[]): History {
  const owned = ownedRevisions(owner, revisions);
  const matching = owned.filter((r) => matchesTemplate(r, owner.template));
  const current = matching[matching.length - 1];
  const old = owned.filter((r) => r !== current);
  const next = old.reduce((m, r) => Math.max(m, r.revision), 0) + 1;
  if (current) {
    const hash = current.metadata.labels?.[REVISION_HASH_LABEL] ?? revisionHashOf(owner, current);
    if (current.revision >= next) return { current, hash, old };
    const renumbered = structuredClone(current);
    renumbered.revision = next;
    return { current: renumbered, hash, old, renumber: renumbered };
  }
  const hash = templateHash(owner.template, owner.collisionCount ?? 0);
  const created: ControllerRevision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: `${owner.metadata.name}-${hash}`,
      namespace: owner.metadata.namespace,
      labels: { ...(owner.template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ...(owner.metadata.annotations ? { annotations: withoutLastApplied(owner.metadata.annotations) } : {}),
      ownerReferences: [ownerReference(owner)],
    },
    data: templatePatch(owner.template),
    revision: next,
  };
  return { current: created, hash, old, create: created };
}

/** A revision without the hash label (made elsewhere): its name's suffix after the owner's name. */
function revisionHashOf(owner: HistoryOwner, r: ControllerRevision): string {
  const prefix = `${owner.metadata.name}-`;
  const name = r.metadata.name ?? "";
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

function withoutLastApplied(a: Record<string, string>): Record<string, string> {
  const { "kubectl.kubernetes.io/last-applied-configuration": _drop, ...rest } = a;
  return rest;
}

/**
 * Old revisions to delete: beyond `limit`, oldest first, skipping any a live pod still carries
 * (`inUse` holds the pods' revision labels).
 */
export function revisionsToDelete(old: readonly ControllerRevision[], inUse: ReadonlySet<string>, limit: number, labelOf: (r: ControllerRevision) => string): ControllerRevision[] {
  let toKill = old.length - Math.max(0, limit);
  const out: ControllerRevision[] = [];
  for (const r of old) {
    if (toKill <= 0) break;
    if (inUse.has(labelOf(r))) continue;
    out.push(r);
    toKill--;
  }
  return out;
}
