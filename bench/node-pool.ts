/**
 * Many simulated nodes (actors/kubelet/pool.ts) in their own process, so that the control plane's
 * memory can be read apart from the nodes'. Prints "ready" on stdout once every node registered.
 *
 *   node --import tsx bench/node-pool.ts <natsUrl> <cluster> <count> [credentials file]
 *
 * The pool speaks for all its nodes on one connection, so it connects with the credentials it is
 * given (the admin's, for a bench) rather than as each node.
 */
import { fileURLToPath } from "node:url";
import { spawn, type ChildProcess } from "node:child_process";

const SELF = fileURLToPath(import.meta.url);

export async function spawnNodePool(o: { natsUrl: string; cluster: string; count: number; credentials?: string; timeoutMs?: number; leaseDurationSeconds?: number }): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  // BENCH_CPU_PROF=<dir>: the pool writes a V8 CPU profile there when it exits, as the cluster process does.
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", SELF, o.natsUrl, o.cluster, String(o.count), ...(o.credentials ? [o.credentials] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, FLOTILLA_LOG: "error", ...(o.leaseDurationSeconds ? { BENCH_NODE_LEASE_SECONDS: String(o.leaseDurationSeconds) } : {}) },
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(t);
    process.removeListener("exit", killOnExit);
  };
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${o.count} simulated nodes did not register in time`)), o.timeoutMs ?? 120_000);
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`node pool exited with ${code}`)));
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { child, stop };
}

if (process.argv[1] === SELF) {
  const [natsUrl, cluster, count, credentials] = process.argv.slice(2);
  const { connectNats } = await import("../runtime/host.ts");
  const { startNodePool } = await import("../actors/kubelet/pool.ts");
  const nc = await connectNats(natsUrl!, "bench-node-pool", credentials);
  const leaseDurationSeconds = process.env.BENCH_NODE_LEASE_SECONDS ? Number(process.env.BENCH_NODE_LEASE_SECONDS) : undefined;
  const pool = await startNodePool({ nc, cluster: cluster!, count: Number(count), namePrefix: "sim-", startLatencyMs: 0, concurrency: 64, leaseDurationSeconds });
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => void pool.stop().then(() => nc.close()).then(() => process.exit(0)));
}
