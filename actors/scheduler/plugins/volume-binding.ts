/**
 * VolumeBinding: a pod's PersistentVolumeClaims decide where it may run (kube-scheduler's
 * VolumeBinding plugin, filter part).
 * - A claim bound to a volume with node affinity (a local-path or local volume) admits only the
 *   nodes that affinity matches.
 * - An unbound claim of a WaitForFirstConsumer class admits a node where an Available volume would
 *   match it (class, access modes, size, selector, node affinity), or any node when its class has a
 *   provisioner; the scheduler then names the chosen node on the claim
 *   (`volume.kubernetes.io/selected-node`) and waits for the binding before it binds the pod.
 * - An unbound claim of an Immediate class, or a missing claim, admits no node until it changes.
 */
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../bus/storage.ts";
import type { FilterPlugin, NodeInfo, PodInfo, SnapshotView } from "../types.ts";
import { BindingMode, bestVolumeFor, claimClass, volumeFitsNode } from "../../../bus/storage.ts";
import { matchesTerm } from "./node-affinity.ts";

export const REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";

export interface VolumeBindingState {
  /** A reason every node gets (a missing claim, an unbound Immediate claim). */
  everywhere?: string;
  bound: PersistentVolume[];
  /** Unbound claims of WaitForFirstConsumer classes. */
  toBind: { claim: PersistentVolumeClaim; cls: StorageClass }[];
  volumes: readonly PersistentVolume[];
}

/** The claim names of the pod's persistentVolumeClaim volumes. */
export const claimNamesOf = (pod: PodInfo) => (pod.pod.spec.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : []));

const NO_PROVISIONER = "kubernetes.io/no-provisioner";

export function volumeBindingState(pod: PodInfo, snap: SnapshotView): VolumeBindingState | undefined {
  const names = claimNamesOf(pod);
  const st = snap.storage;
  if (names.length === 0 || !st) return undefined;
  const state: VolumeBindingState = { bound: [], toBind: [], volumes: st.volumes() };
  for (const name of names) {
    const claim = st.claim(pod.namespace, name);
    if (!claim) return { ...state, everywhere: `persistentvolumeclaim "${name}" not found` };
    if (claim.metadata.deletionTimestamp) return { ...state, everywhere: `persistentvolumeclaim "${name}" is being deleted` };
    if (claim.spec.volumeName) {
      const pv = st.volume(claim.spec.volumeName);
      if (!pv) return { ...state, everywhere: "pvc(s) bound to non-existent pv(s)" };
      state.bound.push(pv);
      continue;
    }
    const cls = st.storageClass(claimClass(claim));
    if (cls?.volumeBindingMode !== BindingMode.WaitForFirstConsumer) return { ...state, everywhere: REASON_UNBOUND_IMMEDIATE };
    state.toBind.push({ claim, cls });
  }
  return state;
}

export function volumeBindingFits(s: VolumeBindingState, node: NodeInfo): readonly string[] | undefined {
  if (s.everywhere) return [s.everywhere];
  const facts = { name: node.name, labels: node.labels };
  for (const pv of s.bound) if (!volumeFitsNode(pv, facts, matchesTerm)) return [REASON_NODE_CONFLICT];
  for (const { claim, cls } of s.toBind) {
    if (bestVolumeFor(claim, s.volumes, { facts, matchesTerm })) continue;
    if (cls.provisioner && cls.provisioner !== NO_PROVISIONER) continue;
    return [REASON_BIND_CONFLICT];
  }
  return undefined;
}

export const volumeBinding: FilterPlugin<VolumeBindingState> = {
  name: "VolumeBinding",
  preFilter: volumeBindingState,
  filter: (s, _pod, node) => volumeBindingFits(s, node),
};
