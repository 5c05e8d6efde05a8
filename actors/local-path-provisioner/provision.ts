/**
 * The local-path provisioner's decisions for one node, pure (k3s' rancher.io/local-path, here
 * `flotilla.io/local-path`): a claim of a local-path class whose selected node (the scheduler's
 * `volume.kubernetes.io/selected-node`) is this node gets a directory under the node's storage root
 * and a hostPath PersistentVolume pinned to the node by node affinity, pre-bound to the claim; a
 * released volume of this node whose reclaim policy is Delete loses its directory, then its object.
 *
 * @example
 *   const cmds = provisionClaim(claim, { node: "n1", root: "/var/lib/flotilla/storage", classes, volume: (n) => pvs.get(n) });
 */
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../bus/storage.ts";
import { join } from "node:path";
import { Annotation, HOSTNAME_LABEL, LOCAL_PATH_PROVISIONER, ReclaimPolicy, VolumePhase, claimClass, pinnedNode } from "../../bus/storage.ts";

export interface NodeStorage {
  node: string;
  /** The directory the node's volumes live under. */
  root: string;
  classes: readonly StorageClass[];
  volume(name: string): PersistentVolume | undefined;
}

export type ProvisionCommand =
  | { type: "volume.provision"; claim: PersistentVolumeClaim; volume: PersistentVolume; dir: string }
  | { type: "volume.delete"; volume: PersistentVolume; dir: string };

/** The volume's name, as k3s names it: `pvc-<claim uid>`. */
export const volumeNameFor = (c: PersistentVolumeClaim) => `pvc-${c.metadata.uid}`;
/** `<root>/pvc-<uid>_<namespace>_<name>`, k3s' layout. */
export const dirFor = (root: string, c: PersistentVolumeClaim) => join(root, `${volumeNameFor(c)}_${c.metadata.namespace}_${c.metadata.name}`);

export function provisionClaim(claim: PersistentVolumeClaim | undefined, s: NodeStorage): ProvisionCommand[] {
  if (!claim || claim.metadata.deletionTimestamp || claim.spec.volumeName) return [];
  const a = claim.metadata.annotations ?? {};
  if (a[Annotation.storageProvisioner] !== LOCAL_PATH_PROVISIONER && a[Annotation.betaStorageProvisioner] !== LOCAL_PATH_PROVISIONER) return [];
  if (a[Annotation.selectedNode] !== s.node) return [];
  const cls = s.classes.find((c) => c.metadata.name === claimClass(claim));
  if (!cls || cls.provisioner !== LOCAL_PATH_PROVISIONER) return [];
  const name = volumeNameFor(claim);
  if (s.volume(name)) return [];
  const dir = dirFor(s.root, claim);
  const volume: PersistentVolume = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { [Annotation.provisionedBy]: LOCAL_PATH_PROVISIONER, "local.path.provisioner/selected-node": s.node } },
    spec: {
      capacity: { storage: claim.spec.resources?.requests?.storage ?? "0" },
      accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? ReclaimPolicy.Delete,
      storageClassName: cls.metadata.name,
      volumeMode: "Filesystem",
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion },
      hostPath: { path: dir, type: "DirectoryOrCreate" },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [s.node] }] }] } },
      ...(cls.mountOptions ? { mountOptions: cls.mountOptions } : {}),
    },
  };
  return [{ type: "volume.provision", claim, volume, dir }];
}

export function reclaimVolume(pv: PersistentVolume | undefined, s: Pick<NodeStorage, "node" | "root">): ProvisionCommand[] {
  if (!pv || pv.metadata.deletionTimestamp) return [];
  if (pv.metadata.annotations?.[Annotation.provisionedBy] !== LOCAL_PATH_PROVISIONER) return [];
  if (pinnedNode(pv) !== s.node) return [];
  if (pv.status?.phase !== VolumePhase.Released || pv.spec.persistentVolumeReclaimPolicy !== ReclaimPolicy.Delete) return [];
  const dir = pv.spec.hostPath?.path ?? pv.spec.local?.path;
  // Only ever a directory under this node's root.
  if (!dir || !dir.startsWith(`${s.root}/`) || dir.includes("/../")) return [];
  return [{ type: "volume.delete", volume: pv, dir }];
}
