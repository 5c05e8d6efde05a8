/**
 * Who owns a pod's volume files, as Kubernetes' `SetVolumeOwnership` and its projected-token rule
 * decide, for pods that do not run as the kubelet's user (process engine as root):
 *
 * - `fsGroup`: every file and directory of an emptyDir, configMap, secret, downwardAPI, projected
 *   or persistentVolumeClaim volume gets that group; files gain group read (and write, for
 *   writable volumes), directories group access and the setgid bit, so what the pod creates
 *   there keeps the group. hostPath volumes are never changed. A claim's directory is walked
 *   only when its own group is not fsGroup yet (Kubernetes' `OnRootMismatch`).
 * - `fsUser` (the one uid every container of the pod runs as): the files the kubelet writes
 *   (configMap, secret, downwardAPI, projected) are owned by it, so a secret with mode 0400 is
 *   readable by the pod and by no other user; a projected ServiceAccount token is 0600 when
 *   `fsUser` or `fsGroup` is known (Kubernetes' rule), 0644 otherwise.
 *
 * @example
 *   applyFsGroup("/var/lib/…/volumes/<uid>/data", 2000, { readOnly: false });
 */
import { chmodSync, lchownSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface VolumeOwner {
  fsUser?: number;
  fsGroup?: number;
}

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

/** The mode a kubelet-written file gets under this owner (fsGroup adds group read). */
export function ownedMode(mode: number, o: VolumeOwner | undefined): number {
  return o?.fsGroup !== undefined ? mode | RO_MASK : mode;
}

/** Kubernetes' mode for a projected ServiceAccount token: 0600 once the pod's user or group is known. */
export function tokenMode(defaultMode: number, o: VolumeOwner | undefined): number {
  return o?.fsUser !== undefined || o?.fsGroup !== undefined ? 0o600 : defaultMode;
}

/** Gives `path` (not following a symlink) to the owner; -1 keeps a side unchanged. */
export function chownTo(path: string, o: VolumeOwner): void {
  if (o.fsUser === undefined && o.fsGroup === undefined) return;
  lchownSync(path, o.fsUser ?? -1, o.fsGroup ?? -1);
}

/** Recursively gives a volume's tree the group `gid` with group access (files rw or r, directories setgid). */
export function applyFsGroup(dir: string, gid: number, o: { readOnly: boolean; onRootMismatch?: boolean }): void {
  if (o.onRootMismatch) {
    const st = statSync(dir);
    if (st.gid === gid && (st.mode & SETGID) !== 0) return;
  }
  const walk = (p: string): void => {
    const st = lstatSync(p);
    lchownSync(p, -1, gid);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      chmodSync(p, (st.mode & 0o7777) | (o.readOnly ? RO_MASK : RW_MASK) | EXEC_MASK | SETGID);
      for (const e of readdirSync(p)) walk(join(p, e));
    } else chmodSync(p, (st.mode & 0o7777) | (o.readOnly ? RO_MASK : RW_MASK));
  };
  walk(dir);
}
