/**
 * Volumes for host processes (process engine): the container's process starts in its own mount
 * namespace (`unshare -m`, private propagation) where each volume is bind-mounted at its mountPath
 * (and remounted read-only when asked), so the host's other processes see nothing of it. `exec`
 * enters the same namespace with `nsenter -t <pid> -m`. Needs root.
 *
 * A mountPath that does not exist on the host has to exist as a mount point: it is created (an empty
 * directory, or an empty file for a file mount) and recorded, so the pod's removal deletes it again.
 *
 * With a private /dev (`devStaging` given, as runc gives a container): a tmpfs is mounted on the
 * staging directory, filled with the usual devices bind-mounted from the host's /dev (null, zero,
 * full, random, urandom, tty; pts, shm and mqueue as they are) and the usual links (fd, stdin,
 * stdout, stderr, ptmx), then moved onto /dev, before any volume is mounted. The container sees
 * none of the host's other devices, and files mounted under /dev (the termination log at
 * /dev/termination-log) get their mount points in that tmpfs, never on the host.
 */
import type { HostMount } from "../engines/types.ts";
import { existsSync, mkdirSync, statSync, writeFileSync, rmdirSync, unlinkSync, readFileSync, readdirSync } from "node:fs";
import { dirname, normalize } from "node:path";

const DEV = `if [ "$1" = --dev ]; then st=$2; shift 2
mount -t tmpfs -o nosuid,strictatime,mode=0755,size=65536k tmpfs "$st" || { echo "mount /dev failed" >&2; exit 125; }
for n in null zero full random urandom tty; do : > "$st/$n"; mount --bind "/dev/$n" "$st/$n" || exit 125; done
for n in pts shm mqueue; do if [ -d "/dev/$n" ]; then mkdir "$st/$n"; mount --rbind "/dev/$n" "$st/$n" || exit 125; fi; done
ln -s /proc/self/fd "$st/fd"; ln -s /proc/self/fd/0 "$st/stdin"; ln -s /proc/self/fd/1 "$st/stdout"; ln -s /proc/self/fd/2 "$st/stderr"; ln -s pts/ptmx "$st/ptmx"
mount --move "$st" /dev || { echo "mount /dev failed" >&2; exit 125; }
fi
`;

const SCRIPT = `${DEV}while [ "$1" != "--" ]; do s=$1; d=$2; o=$3; shift 3
case $d in /dev/*) [ -e "$d" ] || if [ -d "$s" ]; then mkdir -p "$d"; else mkdir -p "$(dirname "$d")" && : > "$d"; fi;; esac
mount --bind "$s" "$d" || { echo "mount $s at $d failed" >&2; exit 125; }
if [ "$o" = ro ]; then mount -o remount,bind,ro "$d" || exit 125; fi
done; shift; if [ "$1" = --ready ]; then : > "$2"; shift 2; fi; exec "$@"`;

export const canMountNamespaces = (): boolean => process.getuid?.() === 0;

/** Parents before children, so a mount inside another mount's path lands on top of it. */
export function mountOrder(mounts: HostMount[]): HostMount[] {
  return [...mounts].map((m) => ({ ...m, target: normalize(m.target) })).sort((a, b) => a.target.split("/").length - b.target.split("/").length);
}

/** Whether a path lies in /dev (a private /dev holds its mount points). */
export const underDev = (p: string) => normalize(p).startsWith("/dev/");

/**
 * `argv` run in a new mount namespace with the mounts in place (and a private /dev, staged at
 * `devStaging`, when given); the file `ready` is created once everything is mounted, so an exec
 * into the namespace waits for it.
 */
export function inMountNamespace(mounts: HostMount[], argv: string[], o: { devStaging?: string; ready?: string } = {}): string[] {
  const triples = mountOrder(mounts).flatMap((m) => [m.source, m.target, m.readOnly ? "ro" : "rw"]);
  const dev = o.devStaging ? ["--dev", o.devStaging] : [];
  const ready = o.ready ? ["--ready", o.ready] : [];
  return ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", SCRIPT, "mounts", ...dev, ...triples, "--", ...ready, ...argv];
}

/**
 * Creates the missing mount points on the host; returns what was created (topmost first). With a
 * private /dev, mount points under /dev are made inside it instead.
 */
export function createMountPoints(mounts: HostMount[], o: { privateDev?: boolean } = {}): string[] {
  const created: string[] = [];
  for (const m of mountOrder(mounts)) {
    if (existsSync(m.target) || (o.privateDev && underDev(m.target))) continue;
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
