/**
 * The process engine's records and host helpers (process.ts): the container's meta file and its
 * validation, the sandbox file, the exit-code shim, and small host probes (free port, pid alive,
 * executable on PATH). No engine state here.
 */
import type { SandboxInfo, PodRef, RunAs } from "./types.ts";
import { readFileSync, statSync, accessSync, constants } from "node:fs";
import { join, delimiter } from "node:path";
import { createServer } from "node:net";

/** A process sandbox: the pod's namespace in pod networking mode. */
export type ProcessSandbox = SandboxInfo & { netns?: string };

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);
const isPodRef = (v: unknown): v is PodRef => isRec(v) && typeof v.uid === "string" && typeof v.name === "string" && typeof v.namespace === "string";
export const isMeta = (v: unknown): v is Meta =>
  isRec(v) &&
  typeof v.id === "string" &&
  isPodRef(v.pod) &&
  typeof v.name === "string" &&
  Number.isInteger(v.attempt) &&
  Number.isInteger(v.pid) &&
  (v.pid as number) > 0 &&
  typeof v.startedAt === "string" &&
  typeof v.cwd === "string" &&
  (v.user === undefined || isRunAs(v.user));
const isId = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
const isRunAs = (v: unknown): v is RunAs => isRec(v) && isId(v.uid) && isId(v.gid) && Array.isArray(v.groups) && v.groups.every(isId);
export const isSandbox = (v: unknown): v is SandboxInfo =>
  isRec(v) && isPodRef(v.pod) && typeof v.id === "string" && typeof v.ip === "string" && isRec(v.hostPorts) && Object.values(v.hostPorts).every((p) => Number.isInteger(p));

export const SHIM = `x=$1; shift; c=; trap '[ -n "$c" ] && kill -TERM $c 2>/dev/null' TERM; trap '[ -n "$c" ] && kill -INT $c 2>/dev/null' INT; "$@" & c=$!
while :; do wait $c; r=$?; kill -0 $c 2>/dev/null || break; done; echo $r > "$x.tmp" && mv "$x.tmp" "$x"; exit $r`;

export interface Meta {
  id: string;
  pod: PodRef;
  name: string;
  attempt: number;
  init: boolean;
  image: string;
  imageID: string;
  pid: number;
  startedAt: string;
  /**
   * Never written to meta.json (values from Secrets would sit there in clear): exec reads the
   * container's environment from its process (`envOf`).
   */
  env?: Record<string, string>;
  cwd: string;
  /** The pod's network namespace (pod networking mode). */
  netns?: string;
  /** Started in its own mount namespace (volumes): exec enters it. */
  mountNs?: boolean;
  /** The identity the container runs as (absent: the kubelet's own); exec uses it too. */
  user?: RunAs;
}

/** A container's environment, read from its process (and only the old meta files' copy when that is gone). */
export function envOf(m: Meta): Record<string, string> {
  try {
    const env: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${m.pid}/environ`, "utf8").split("\0")) {
      const i = kv.indexOf("=");
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    if (Object.keys(env).length > 0) return env;
  } catch {
    // gone, or not ours to read
  }
  return m.env ?? { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", HOME: "/" };
}


export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function findExecutable(cmd: string, path: string): string | undefined {
  const candidates = cmd.includes("/") ? [cmd] : path.split(delimiter).map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** How long a container's mount namespace may take to be set up before start returns anyway. */
export const MOUNT_SETUP_TIMEOUT_MS = 10_000;

export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
