/**
 * Where the write path's time goes, measured: CPU profiles of the store actor (its own process,
 * 64 creates in flight, beside a raw KV put of the same bytes in the same run) and of the store
 * and the scheduler while the scheduler drains pods that are already Pending, and while pods are
 * created as it runs (the pipeline). Writes a summary
 * (the run's rates and each process's top functions and modules) to stdout, or to `--out F`.
 *
 * @example
 *   node --import tsx bench/profile.ts --out bench/measured/profile-2026-12-01.md
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { startNatsServer } from "../runtime/nats-server.ts";
import { connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { subjects } from "../bus/subjects.ts";
import { closedLoop } from "./lib/hist.ts";
import { benchScheduler, spawnActorProcess, STORE_ONLY } from "./scheduler.ts";
import { configMap } from "./store.ts";
import { summarizeProfile, formatSummary, type CpuProfile } from "./lib/cpu-profile.ts";

const TOP = 15;

/** The main-thread profiles written into `dir`. */
function profiles(dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as CpuProfile);
}
const isScheduler = (p: CpuProfile) => p.nodes.some((n) => n.callFrame.url.includes("actors/scheduler/schedule.ts"));

async function storeWrites(n: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-prof-store-"));
  process.env.BENCH_CPU_PROF = dir;
  const server = await startNatsServer({ port: 0 });
  const child = await spawnActorProcess(STORE_ONLY, server.url, "prof");
  delete process.env.BENCH_CPU_PROF;
  const nc = await connectNats(server.url, "bench-profile");
  try {
    const store = new StoreClient(nc, "prof", 60_000);
    const kv = await new Kvm(nc).open(subjects("prof").bucket());
    await closedLoop(500, 8, (i) => store.create("configmaps", "default", configMap(`warm-${i}`)));
    await closedLoop(500, 8, (i) => kv.put(`bench.raw.warm-${i}`, JSON.stringify(configMap(`warm-${i}`))));
    const raw = await closedLoop(n, 64, (i) => kv.put(`bench.raw.${i}`, JSON.stringify(configMap(`c-${i}`))));
    const viaStore = await closedLoop(n, 64, (i) => store.create("configmaps", "default", configMap(`c-${i}`)));
    await nc.close();
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    const [p] = profiles(dir);
    const k = (x: number) => Math.round(x).toLocaleString("en-US");
    return [
      `## Store creates, 64 in flight (${k(n)} each)`,
      "",
      `Raw KV put ${k(raw.perSecond)}/s, store create ${k(viaStore.perSecond)}/s: **${(viaStore.perSecond / raw.perSecond).toFixed(2)}×** (measured in this run; the store actor in its own process).`,
      "",
      p ? formatSummary("the store actor's process (whole run: warm-up, the raw puts it idles through, the creates)", summarizeProfile(p), TOP) : "(no profile written)",
    ].join("\n");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function schedulerRun(shape: "drain" | "pipeline", nodes: number, pods: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-prof-sched-"));
  process.env.BENCH_CPU_PROF = dir;
  try {
    const r = await benchScheduler({ nodes, pods, shape });
    const ps = profiles(dir);
    const sched = ps.find(isScheduler);
    const store = ps.find((p) => !isScheduler(p));
    const k = (n: number) => n.toLocaleString("en-US");
    return [
      shape === "drain" ? `## Scheduler drain: ${k(nodes)} nodes, ${k(pods)} pods Pending when it starts` : `## Scheduler pipeline: ${k(nodes)} nodes, ${k(pods)} pods created while it runs`,
      "",
      `${Math.round(r.podsPerSecond).toLocaleString("en-US")} pods/s bound (measured in this run; ${r.processes}).`,
      "",
      store ? formatSummary("the store actor's process (whole run: nodes and pods created, the binds and the Events)", summarizeProfile(store), TOP) : "(no store profile)",
      sched ? formatSummary("the scheduler's process", summarizeProfile(sched), TOP) : "(no scheduler profile)",
    ].join("\n");
  } finally {
    delete process.env.BENCH_CPU_PROF;
    rmSync(dir, { recursive: true, force: true });
  }
}

const out = process.argv.indexOf("--out");
process.env.FLOTILLA_LOG ??= "warn";
const header = `# CPU profiles of the write path\n\n${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load average ${loadavg()[0]!.toFixed(2)} at the start; \`node --import tsx bench/profile.ts\`. Shares are of each process's samples (idle included).\n`;
const text = [header, await storeWrites(30_000), await schedulerRun("drain", 5000, 10_000), await schedulerRun("pipeline", 5000, 10_000)].join("\n");
if (out > 0) writeFileSync(process.argv[out + 1]!, text + "\n");
else console.log(text);
process.exit(0);
