/**
 * `flotilla up` in its own process (as a user runs it: bin/flotilla.mjs, temp data dir, API on a
 * free loopback port), so a benchmark's load generator never shares the cluster's event loop and
 * the cluster's memory can be read from /proc.
 *
 * @example
 *   const c = await spawnUp({ nodes: 1, engine: "simulated" });
 *   await c.api.request("GET", "/api/v1/nodes");  await c.stop();
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { readState } from "../../cli/config.ts";
import { adminTokenOf } from "../../cli/up.ts";
import { ensurePki } from "../../actors/api-server/certs.ts";
import { apiClient, type Api } from "./https-client.ts";
import { credentialsPath } from "../../runtime/cluster/credentials.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin/flotilla.mjs");

export interface UpProcess {
  pid: number;
  dataDir: string;
  apiUrl: string;
  natsUrl: string;
  /** The admin's NATS credentials file (the bus admits no anonymous user). */
  adminCredentials: string;
  cluster: string;
  api: Api;
  stop(): Promise<void>;
}

/**
 * `leaseMs`: `--lease-ms` of the leader-elected actors; `heapMb`: the process's V8 heap limit
 * (`--max-old-space-size`; Node's default is about 4 GiB on a 64-bit machine with this much memory).
 */
export async function spawnUp(o: { nodes: number; engine: "docker" | "process" | "simulated"; timeoutMs?: number; maxSockets?: number; leaseMs?: number; heapMb?: number }): Promise<UpProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-bench-up-"));
  // BENCH_CPU_PROF=<dir>: the cluster process writes a V8 CPU profile there when it exits (bench/profile.ts).
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const heap = o.heapMb ? [`--max-old-space-size=${o.heapMb}`] : [];
  const lease = o.leaseMs ? ["--lease-ms", String(o.leaseMs)] : [];
  const child = spawn(process.execPath, [...profile, ...heap, BIN, "up", "--data-dir", dataDir, "--port", "0", "--nodes", String(o.nodes), "--engine", o.engine, ...lease], {
    stdio: ["ignore", "ignore", process.env.FLOTILLA_BENCH_VERBOSE ? "inherit" : "ignore"],
    env: { ...process.env, FLOTILLA_LOG: process.env.FLOTILLA_LOG ?? "error" },
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let api: Api | undefined;
  const stop = async () => {
    api?.destroy();
    if (child.exitCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await exited;
    clearTimeout(t);
    process.removeListener("exit", killOnExit);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`flotilla up exited with ${child.exitCode}`);
      const s = readState(dataDir);
      if (s && s.pid === child.pid && existsSync(join(dataDir, "tokens.csv"))) {
        api ??= apiClient({ baseUrl: s.apiUrl, token: adminTokenOf(dataDir)!, ca: ensurePki(dataDir).caPem, maxSockets: o.maxSockets });
        const r = await api.request("GET", "/api/v1/namespaces/default/configmaps").catch(() => ({ status: 0 }));
        if (r.status === 200) return { pid: child.pid!, dataDir, apiUrl: s.apiUrl, natsUrl: s.natsUrl, adminCredentials: credentialsPath(dataDir, "admin"), cluster: s.cluster, api, stop };
      }
      if (Date.now() > deadline) throw new Error("flotilla up did not answer in time");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
}
