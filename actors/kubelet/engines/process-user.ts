/**
 * Who process-engine pods run as. A kubelet running as root never runs pods as root by default:
 *
 * - the default user is the system user `flotilla-pod` (group `flotilla-pod`), created on first
 *   use as Debian's packages create theirs (`useradd --system --user-group`, no home, no login
 *   shell); where it cannot be created (no useradd, a read-only /etc) the fixed ids 65532:65532
 *   are used without a passwd entry (the "nonroot" ids of distroless images);
 * - `runAsUser` / `runAsGroup` (container wins over pod) are honoured, `runAsUser: 0` included;
 *   a `runAsUser` without `runAsGroup` gets the primary group of the uid's passwd entry on the
 *   node, and the default user's group when it has none (Kubernetes would give gid 0, which on a
 *   host without a container image means the node's root group: not given here);
 * - supplementary groups are `supplementalGroups` plus `fsGroup`, and nothing else (never the
 *   kubelet's own groups).
 *
 * The switch happens last, inside the container's namespaces, with util-linux `setpriv`
 * (`dropPrivileges`): everything before it (cgroups, namespaces, mounts, the shim that records
 * the exit code) runs as root.
 *
 * @example
 *   const u = await ensurePodUser(commandRunner());          // { uid: 998, gid: 998, name: "flotilla-pod" }
 *   resolveRunAs({ runAsUser: 1234, supplementalGroups: [] }, u, passwd)   // { uid: 1234, gid: 998, groups: [] }
 */
import type { Runner } from "../../../runtime/command.ts";
import type { RunAs, RunAsRequest } from "./types.ts";
import { readFileSync } from "node:fs";

export const POD_USER = "flotilla-pod";
/** Used when the system user cannot be created. */
export const FALLBACK_POD_ID = 65532;

export interface PodUser {
  uid: number;
  gid: number;
  /** Absent for the fallback ids (no passwd entry). */
  name?: string;
}

/** uid → primary gid, and name → ids, from passwd text. */
export function parsePasswd(text: string): { byUid: Map<number, number>; byName: Map<string, { uid: number; gid: number }> } {
  const byUid = new Map<number, number>();
  const byName = new Map<string, { uid: number; gid: number }>();
  for (const line of text.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (!name || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) continue;
    byUid.set(Number(uid), Number(gid));
    byName.set(name, { uid: Number(uid), gid: Number(gid) });
  }
  return { byUid, byName };
}

export function readPasswd(file = "/etc/passwd"): ReturnType<typeof parsePasswd> {
  try {
    return parsePasswd(readFileSync(file, "utf8"));
  } catch {
    return parsePasswd("");
  }
}

/** The dedicated pod user, created when missing (idempotent; a concurrent creator is fine). */
export async function ensurePodUser(run: Runner, passwdFile = "/etc/passwd"): Promise<PodUser> {
  const found = () => readPasswd(passwdFile).byName.get(POD_USER);
  let u = found();
  for (let i = 0; !u && i < 5; i++) {
    // useradd takes a lock on /etc/passwd: another kubelet creating the user at the same moment
    // makes it fail once ("cannot lock"), or answer that the user exists; both are retried.
    await run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "Flotilla pods", POD_USER]).catch(() => undefined);
    u = found();
    if (!u) await new Promise((r) => setTimeout(r, 100 * (i + 1)));
  }
  return u ? { ...u, name: POD_USER } : { uid: FALLBACK_POD_ID, gid: FALLBACK_POD_ID };
}

/** The identity of a container asking for `req`, given the default pod user. Pure. */
export function resolveRunAs(req: RunAsRequest, dflt: PodUser, passwd: ReturnType<typeof parsePasswd>): RunAs {
  const uid = req.runAsUser ?? dflt.uid;
  const gid = req.runAsGroup ?? (req.runAsUser === undefined ? dflt.gid : (passwd.byUid.get(req.runAsUser) ?? dflt.gid));
  const groups = [...new Set([...req.supplementalGroups, ...(req.fsGroup !== undefined ? [req.fsGroup] : [])])].filter((g) => g !== gid);
  return { uid, gid, groups, ...(req.allowPrivilegeEscalation === false ? { noNewPrivs: true } : {}) };
}

/** argv prefix that runs the rest as `u` (util-linux setpriv: real and effective ids, groups replaced). */
export function dropPrivileges(u: RunAs): string[] {
  return [
    "setpriv",
    "--reuid",
    String(u.uid),
    "--regid",
    String(u.gid),
    ...(u.groups.length > 0 ? ["--groups", u.groups.join(",")] : ["--clear-groups"]),
    ...(u.noNewPrivs ? ["--no-new-privs"] : []),
    "--",
  ];
}
