/**
 * A server's files in its data dir: `server.json` (how it was started, so a restart needs only
 * --data-dir), `state.json` (what is running now: URLs and pids), `pids` (one pid a line: the
 * server process and its nats-server) and `token`.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_PORTS = { nats: 4222, route: 6222, leaf: 7422, api: 6443 } as const;

/** The servers' JetStream domain: leaf workers reach the JetStream API through it (docs/ha.md). */
export const JETSTREAM_DOMAIN = "flotilla";

export interface ServerConfig {
  name: string;
  address: string;
  /** Flotilla cluster name (the subject prefix). */
  cluster: string;
  ports: { nats: number; route: number; leaf: number; api: number };
  /** host:port of other servers' route listeners. */
  peers: string[];
  /** Run a kubelet + proxy in this process too. */
  node?: { name: string; engine: string };
  leaseDurationMs?: number;
}

export interface ServerState {
  name: string;
  address: string;
  pid: number;
  natsPid: number;
  natsUrl: string;
  apiUrl: string;
  route: string;
  startedAt: string;
}

const file = (dir: string, f: string) => join(dir, f);

function writeAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

export const readServerConfig = (dir: string) => readJson<ServerConfig>(file(dir, "server.json"));
export const readServerState = (dir: string) => readJson<ServerState>(file(dir, "state.json"));

export function writeServerConfig(dir: string, c: ServerConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(file(dir, "server.json"), JSON.stringify(c, null, 2) + "\n");
}

export function writeServerState(dir: string, s: ServerState): void {
  writeAtomic(file(dir, "state.json"), JSON.stringify(s, null, 2) + "\n");
  writeAtomic(file(dir, "pids"), `${s.pid}\n${s.natsPid}\n`, 0o644);
}

export function readPids(dir: string): number[] {
  const p = file(dir, "pids");
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8")
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

export const tokenPath = (dir: string) => file(dir, "token");
