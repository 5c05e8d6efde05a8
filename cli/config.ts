/** Where `flotilla up` keeps its state, and how other commands find it. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";

export function defaultDataDir(): string {
  return process.env.FLOTILLA_DATA_DIR ? resolve(process.env.FLOTILLA_DATA_DIR) : join(homedir(), ".flotilla");
}

export interface ClusterState {
  pid: number;
  natsUrl: string;
  natsPort: number;
  apiUrl: string;
  apiPort: number;
  cluster: string;
  engine: string;
  nodes: string[];
  kubeconfig: string;
  startedAt: string;
  /** `flotilla up --servers N`: each server's data dir, and each api-server URL (first = the kubeconfig's). */
  servers?: string[];
  apiUrls?: string[];
}

export const stateFile = (dataDir: string) => join(dataDir, "cluster.json");
export const kubeconfigPath = (dataDir: string) => join(dataDir, "kubeconfig");

export function readState(dataDir: string): ClusterState | undefined {
  const p = stateFile(dataDir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, "utf8")) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeState(dataDir: string, s: ClusterState): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(stateFile(dataDir), JSON.stringify(s, null, 2) + "\n");
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
