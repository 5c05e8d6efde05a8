/** Where `flotilla up` keeps its state, and how other commands find it. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { readJsonFile, writeFileAtomic } from "../runtime/atomic-file.ts";

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

const isState = (v: unknown): v is ClusterState =>
  typeof v === "object" && v !== null && Number.isInteger((v as ClusterState).pid) && typeof (v as ClusterState).natsUrl === "string" && typeof (v as ClusterState).cluster === "string";

/** The running cluster's state; a corrupt file is set aside and reads as no state. */
export function readState(dataDir: string): ClusterState | undefined {
  return readJsonFile(stateFile(dataDir), isState);
}

export function writeState(dataDir: string, s: ClusterState): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileAtomic(stateFile(dataDir), JSON.stringify(s, null, 2) + "\n");
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
