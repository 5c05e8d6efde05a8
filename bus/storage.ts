/**
 * Storage kinds (core/v1 PersistentVolume and PersistentVolumeClaim, storage.k8s.io/v1
 * StorageClass) and the pure rules several actors share: which volume may serve which claim, the
 * default class, the well-known annotations and the built-in local-path provisioner's name.
 *
 * @example
 *   const pv = bestVolumeFor(claim, volumes, { node: { name: "n1", labels: {} }, matchesTerm });
 */
import type { KubeObject, Labels, LabelSelector, NodeSelectorTerm, ObjectReference, Quantity } from "./resources.ts";
import { units } from "./quantity.ts";
import { matchesSelector } from "./selectors.ts";

export const AccessMode = {
  ReadWriteOnce: "ReadWriteOnce",
  ReadOnlyMany: "ReadOnlyMany",
  ReadWriteMany: "ReadWriteMany",
  ReadWriteOncePod: "ReadWriteOncePod",
} as const;
export type AccessMode = (typeof AccessMode)[keyof typeof AccessMode];
export const ACCESS_MODES = Object.values(AccessMode);

export const ReclaimPolicy = { Retain: "Retain", Delete: "Delete", Recycle: "Recycle" } as const;
export type ReclaimPolicy = (typeof ReclaimPolicy)[keyof typeof ReclaimPolicy];

export const VolumePhase = { Pending: "Pending", Available: "Available", Bound: "Bound", Released: "Released", Failed: "Failed" } as const;
export type VolumePhase = (typeof VolumePhase)[keyof typeof VolumePhase];

export const ClaimPhase = { Pending: "Pending", Bound: "Bound", Lost: "Lost" } as const;
export type ClaimPhase = (typeof ClaimPhase)[keyof typeof ClaimPhase];

export const BindingMode = { Immediate: "Immediate", WaitForFirstConsumer: "WaitForFirstConsumer" } as const;
export type BindingMode = (typeof BindingMode)[keyof typeof BindingMode];

/** Well-known annotations, spelled as Kubernetes spells them. */
export const Annotation = {
  defaultClass: "storageclass.kubernetes.io/is-default-class",
  selectedNode: "volume.kubernetes.io/selected-node",
  storageProvisioner: "volume.kubernetes.io/storage-provisioner",
  betaStorageProvisioner: "volume.beta.kubernetes.io/storage-provisioner",
  bindCompleted: "pv.kubernetes.io/bind-completed",
  boundByController: "pv.kubernetes.io/bound-by-controller",
  provisionedBy: "pv.kubernetes.io/provisioned-by",
} as const;

/** The built-in provisioner of node-local directories (k3s' `rancher.io/local-path`, here). */
export const LOCAL_PATH_PROVISIONER = "flotilla.io/local-path";
export const LOCAL_PATH_CLASS = "local-path";
/** The node label a local-path volume's node affinity names (every kubelet sets it). */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

export interface PersistentVolumeSpec {
  capacity?: { storage?: Quantity; [k: string]: Quantity | undefined };
  accessModes?: AccessMode[];
  persistentVolumeReclaimPolicy?: ReclaimPolicy;
  storageClassName?: string;
  volumeMode?: "Filesystem" | "Block";
  volumeAttributesClassName?: string;
  claimRef?: ObjectReference;
  mountOptions?: string[];
  nodeAffinity?: { required?: { nodeSelectorTerms: NodeSelectorTerm[] } };
  hostPath?: { path: string; type?: string };
  local?: { path: string; fsType?: string };
  [source: string]: unknown;
}
export interface PersistentVolume extends KubeObject {
  spec: PersistentVolumeSpec;
  status?: { phase?: VolumePhase; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}

export interface PersistentVolumeClaimSpec {
  accessModes?: AccessMode[];
  selector?: LabelSelector;
  resources?: { requests?: { storage?: Quantity }; limits?: { storage?: Quantity } };
  volumeName?: string;
  storageClassName?: string | null;
  volumeMode?: "Filesystem" | "Block";
  volumeAttributesClassName?: string;
  dataSource?: unknown;
  dataSourceRef?: unknown;
}
export interface PersistentVolumeClaim extends KubeObject {
  spec: PersistentVolumeClaimSpec;
  status?: { phase?: ClaimPhase; accessModes?: AccessMode[]; capacity?: { storage?: Quantity }; conditions?: unknown[] };
}

export interface StorageClass extends KubeObject {
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: ReclaimPolicy;
  volumeBindingMode?: BindingMode;
  allowVolumeExpansion?: boolean;
  mountOptions?: string[];
  allowedTopologies?: unknown[];
}

export const isDefaultClass = (sc: StorageClass) => sc.metadata.annotations?.[Annotation.defaultClass] === "true";

/** The default class: of several, the newest (then the first by name), as Kubernetes picks. */
export function defaultClass(classes: readonly StorageClass[]): StorageClass | undefined {
  return classes
    .filter(isDefaultClass)
    .sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))[0];
}

/** The class a claim asks for ("" = none: only volumes without a class). */
export const claimClass = (c: PersistentVolumeClaim) => c.spec.storageClassName ?? "";
export const volumeClass = (v: PersistentVolume) => v.spec.storageClassName ?? "";
export const requestedBytes = (c: PersistentVolumeClaim) => units(c.spec.resources?.requests?.storage ?? "0");
export const capacityBytes = (v: PersistentVolume) => units(v.spec.capacity?.storage ?? "0");

/** `ns/name` of the claim a volume is bound (or pre-bound) to. */
export const claimKeyOf = (v: PersistentVolume) => (v.spec.claimRef?.name ? `${v.spec.claimRef.namespace ?? ""}/${v.spec.claimRef.name}` : undefined);

/** Whether the volume is (pre-)bound to this very claim (uid checked when the reference has one). */
export function volumeBoundTo(v: PersistentVolume, c: PersistentVolumeClaim): boolean {
  const r = v.spec.claimRef;
  if (!r || r.name !== c.metadata.name || (r.namespace ?? "") !== (c.metadata.namespace ?? "")) return false;
  return !r.uid || r.uid === c.metadata.uid;
}

export interface NodeFacts {
  name: string;
  labels: Labels;
}
export type TermMatcher = (t: NodeSelectorTerm, node: NodeFacts) => boolean;

/** A volume without node affinity is reachable from every node; otherwise one term must match. */
export function volumeFitsNode(v: PersistentVolume, node: NodeFacts, matchesTerm: TermMatcher): boolean {
  const terms = v.spec.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  return terms.some((t) => matchesTerm(t, node));
}

/** The node a volume is pinned to by a `kubernetes.io/hostname In [x]` term (local-path volumes), if any. */
export function pinnedNode(v: PersistentVolume): string | undefined {
  for (const t of v.spec.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const r of t.matchExpressions ?? []) if (r.key === HOSTNAME_LABEL && r.operator === "In" && r.values?.length === 1) return r.values[0];
  }
  return undefined;
}

/** Whether an unclaimed volume can serve the claim: class, access modes, size, volume mode, selector (and node). */
export function volumeMatchesClaim(v: PersistentVolume, c: PersistentVolumeClaim, node?: { facts: NodeFacts; matchesTerm: TermMatcher }): boolean {
  if (v.metadata.deletionTimestamp) return false;
  if (volumeClass(v) !== claimClass(c)) return false;
  if ((v.spec.volumeMode ?? "Filesystem") !== (c.spec.volumeMode ?? "Filesystem")) return false;
  const modes = v.spec.accessModes ?? [];
  if (!(c.spec.accessModes ?? []).every((m) => modes.includes(m))) return false;
  if (capacityBytes(v) < requestedBytes(c)) return false;
  if (c.spec.selector && !matchesSelector(c.spec.selector, v.metadata.labels)) return false;
  if (node && !volumeFitsNode(v, node.facts, node.matchesTerm)) return false;
  return true;
}

/**
 * The volume to bind a claim to: one pre-bound to it first, else the smallest Available volume that
 * matches (Kubernetes' findBestMatchForClaim).
 */
export function bestVolumeFor(c: PersistentVolumeClaim, volumes: readonly PersistentVolume[], node?: { facts: NodeFacts; matchesTerm: TermMatcher }): PersistentVolume | undefined {
  const pre = volumes.find((v) => volumeBoundTo(v, c) && volumeMatchesClaim(v, c, node));
  if (pre) return pre;
  let best: PersistentVolume | undefined;
  for (const v of volumes) {
    if (v.spec.claimRef || (v.status?.phase && v.status.phase !== VolumePhase.Available && v.status.phase !== VolumePhase.Pending)) continue;
    if (!volumeMatchesClaim(v, c, node)) continue;
    if (!best || capacityBytes(v) < capacityBytes(best)) best = v;
  }
  return best;
}

/** Access modes as kubectl abbreviates them (RWO,ROX,RWX,RWOP in that order). */
export function accessModesText(modes: readonly string[] | undefined): string {
  const m = new Set(modes ?? []);
  return [
    [AccessMode.ReadWriteOnce, "RWO"],
    [AccessMode.ReadOnlyMany, "ROX"],
    [AccessMode.ReadWriteMany, "RWX"],
    [AccessMode.ReadWriteOncePod, "RWOP"],
  ]
    .filter(([k]) => m.has(k!))
    .map(([, v]) => v)
    .join(",");
}
