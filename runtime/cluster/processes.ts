/**
 * Server processes on one machine (`flotilla up --servers N`): each `flotilla server` runs in its
 * own process group with its own data dir and a `pids` file listing its processes.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { openSync, closeSync, mkdirSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readPids } from "./server-config.ts";

export const FLOTILLA_BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/flotilla.mjs");

export interface ServerProcessSpec {
  dir: string;
  name: string;
  address: string;
  token: string;
  cluster: string;
  ports: { nats: number; route: number; leaf: number; api: number };
  peers: string[];
  init: boolean;
  leaseDurationMs?: number;
  env?: Record<string, string>;
  /** A command the server runs under, e.g. `ip netns exec <ns>` (specs put servers in network namespaces). */
  prefix?: string[];
}

/** The `flotilla server` arguments for a spec (also how to restart it by hand: only --data-dir is needed then). */
export function serverArgs(s: ServerProcessSpec): string[] {
  return [
    "server",
    "--data-dir", s.dir,
    "--name", s.name,
    "--address", s.address,
    "--token", s.token,
    "--cluster", s.cluster,
    "--nats-port", String(s.ports.nats),
    "--route-port", String(s.ports.route),
    "--leaf-port", String(s.ports.leaf),
    "--api-port", String(s.ports.api),
    ...s.peers.flatMap((p) => ["--peer", p]),
    ...(s.init ? [] : ["--no-init"]),
    ...(s.leaseDurationMs ? ["--lease-ms", String(s.leaseDurationMs)] : []),
  ];
}

/** Starts a server process in its own process group; its output goes to `<dir>/server.log`. */
export function spawnServer(s: ServerProcessSpec, args = serverArgs(s)): ChildProcess {
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  const out = openSync(join(s.dir, "server.log"), "a");
  const argv = [...(s.prefix ?? []), process.execPath, FLOTILLA_BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", out, out], env: { ...process.env, ...s.env } });
  closeSync(out);
  child.unref();
  return child;
}

/** Signals every process of a server (its process group, then any pid in its `pids` file). */
export function signalServer(dir: string, signal: NodeJS.Signals, pgid?: number): void {
  const pids = readPids(dir);
  const group = pgid ?? pids[0];
  if (group) {
    try {
      process.kill(-group, signal);
    } catch {
      // group already gone
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
