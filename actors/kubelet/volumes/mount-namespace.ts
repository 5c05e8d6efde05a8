/**
 * Volumes for host processes (process engine): the container's process starts in its own mount
 * namespace (`unshare -m`, private propagation) where each volume is bind-mounted at its mountPath
 * (and remounted read-only when asked), so the host's other processes see nothing of it. `exec`
 * enters the same namespace with `nsenter -t <pid> -m`. Needs root.
 *
 * A mountPath that does not exist on the host has to exist as a mount point: it is created (an empty
 * directory, or an empty file for a file mount) and recorded, so the pod's removal deletes it again.
 */
import type { HostMount } from "../engines/types.ts";
import { existsSync, mkdirSync, statSync, writeFileSync, rmdirSync, unlinkSync, readFileSync, readdirSync } from "node:fs";
import { dirname, normalize } from "node:path";

const SCRIPT = `while [ "$1" != "--" ]; do s=$1; d=$2; o=$3; shift 3
mount --bind "$s" "$d" || { echo "mount $s at $d failed" >&2; exit 125; }
if [ "$o" = ro ]; then mount -o remount,bind,ro "$d" || exit 125; fi
done; shift; exec "$@"`;

export const canMountNamespaces = (): boolean => process.getuid?.() === 0;

/** Parents before children, so a mount inside another mount's path lands on top of it. */
export function mountOrder(mounts: HostMount[]): HostMount[] {
  return [...mounts].map((m) => ({ ...m, target: normalize(m.target) })).sort((a, b) => a.target.split("/").length - b.target.split("/").length);
}

/** `argv` run in a new mount namespace with the mounts in place. */
export function inMountNamespace(mounts: HostMount[], argv: string[]): string[] {
  const triples = mountOrder(mounts).flatMap((m) => [m.source, m.target, m.readOnly ? "ro" : "rw"]);
  return ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", SCRIPT, "mounts", ...triples, "--", ...argv];
}

/** Creates the missing mount points on the host; returns what was created (topmost first). */
export function createMountPoints(mounts: HostMount[]): string[] {
  const created: string[] = [];
  for (const m of mountOrder(mounts)) {
    if (existsSync(m.target)) continue;
    let top = m.target;
    while (!existsSync(dirname(top))) top = dirname(top);
    if (statSync(m.source).isDirectory()) mkdirSync(m.target, { recursive: true });
    else {
      mkdirSync(dirname(m.target), { recursive: true });
      writeFileSync(m.target, "");
    }
    created.push(top);
  }
  return created;
}

/** Removes mount points created for a pod (deepest first; only while empty). */
export function removeMountPoints(listFile: string): void {
  let created: string[] = [];
  try {
    created = JSON.parse(readFileSync(listFile, "utf8")) as string[];
  } catch {
    return;
  }
  const removeTree = (p: string): void => {
    try {
      const st = statSync(p);
      if (st.isDirectory()) rmdirSync(p);
      else if (st.size === 0) unlinkSync(p);
    } catch {
      /* not empty, or gone */
    }
  };
  // Each entry is the topmost path created; what it holds was created for the pod too, but only
  // empty directories and empty files are removed.
  for (const top of created.reverse()) {
    const walk = (p: string): void => {
      try {
        if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(`${p}/${e}`);
      } catch {
        /* gone */
      }
      removeTree(p);
    };
    walk(top);
  }
}
