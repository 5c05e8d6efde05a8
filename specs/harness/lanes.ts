/**
 * `npm run test:lanes`: the spec files in lanes, each lane a mocha run of its own (its own run id, run
 * directory and leak check: run.ts), the lanes at the same time.
 *
 * Most of the suite's time is spent waiting (elections, lease expiries, restarts, probes), not
 * computing: a serial run kept the 2 cores 37% busy on average (vmstat, user + system), three lanes 60%.
 *
 * Spec files that touch what the whole machine shares run one after another in the `host` lane:
 * the Docker engine and its networks, containerd, network namespaces, iptables, bridges, routes
 * and the pod network's fixed ranges. A file belongs there when its text matches HOST_STATE.
 * The rest can share the machine: their nats-servers, api-servers and process pods listen on free
 * ports, and a proxy's ClusterIPs and NodePorts are picked at random from their ranges. Each of
 * them goes, longest first, to the lane with the least work so far, its work taken from
 * spec-times.json (the times of the last recorded run: `npm run test:lanes -- --record`).
 *
 * Not yet `npm test`: on a 2-core machine every lane run so far had specs that pass alone and
 * failed beside the other lanes (bench/measured/test-lanes-2026-12-03.txt names them).
 *
 *   node --import tsx specs/harness/lanes.ts                      all spec files, FLOTILLA_TEST_LANES lanes (default 3)
 *   node --import tsx specs/harness/lanes.ts specs/integration    only the files under the given paths
 *   node --import tsx specs/harness/lanes.ts --lanes 1            one lane: the plain mocha run
 *   node --import tsx specs/harness/lanes.ts --record             also write every file's time to spec-times.json
 *
 * Each lane's output is printed whole when the lane ends (while it runs, it can be followed in
 * the file named at the start), then one line per lane; the command fails when any lane does.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync, rmSync, existsSync, createWriteStream } from "node:fs";
import { join, relative } from "node:path";
import { tmpdir } from "node:os";

const ROOT = join(import.meta.dirname, "..", "..");
const TIMES_FILE = join(import.meta.dirname, "spec-times.json");
const MOCHA = join(ROOT, "node_modules", ".bin", "mocha");

/** What marks a spec file as touching state the whole machine shares (see above). */
export const HOST_STATE = /docker|containerd|\bcri\b|NetnsLab|harness\/netns|iptables|pod-?network|podNetwork|vxlan/i;

/** Milliseconds a file not in spec-times.json counts as. */
const UNKNOWN_MS = 5_000;

/** Every `*.spec.ts` under the given files or directories, in mocha's order (sorted paths). */
export function specFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else if (p.endsWith(".spec.ts")) out.push(relative(ROOT, p));
  };
  for (const p of paths) walk(join(ROOT, p));
  return out.sort();
}

export interface Lane {
  name: string;
  files: string[];
  /** The files' expected time. */
  ms: number;
}

/**
 * The lanes (pure): lane 0 takes every host-state file, in order; each other file goes, longest
 * first, to the lane with the least time so far (lane 0 included).
 */
export function planLanes(files: readonly string[], { lanes, isHostState, timeOf }: { lanes: number; isHostState: (f: string) => boolean; timeOf: (f: string) => number }): Lane[] {
  const plan: Lane[] = Array.from({ length: Math.max(1, lanes) }, (_, i) => ({ name: i === 0 ? "host" : `lane-${i}`, files: [], ms: 0 }));
  const rest: string[] = [];
  for (const f of files) {
    if (isHostState(f) || plan.length === 1) {
      plan[0]!.files.push(f);
      plan[0]!.ms += timeOf(f);
    } else rest.push(f);
  }
  rest.sort((a, b) => timeOf(b) - timeOf(a) || a.localeCompare(b));
  for (const f of rest) {
    const lane = plan.reduce((min, l) => (l.ms < min.ms ? l : min));
    lane.files.push(f);
    lane.ms += timeOf(f);
  }
  return plan.filter((l) => l.files.length);
}

function parseArgs(argv: string[]): { lanes: number; record: boolean; paths: string[] } {
  const o = { lanes: Number(process.env.FLOTILLA_TEST_LANES) || 3, record: false, paths: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--record") o.record = true;
    else if (a === "--lanes") o.lanes = Number(argv[++i]);
    else if (a.startsWith("--lanes=")) o.lanes = Number(a.slice("--lanes=".length));
    else o.paths.push(a);
  }
  if (!Number.isInteger(o.lanes) || o.lanes < 1) throw new Error(`--lanes: a whole number of at least 1, not ${o.lanes}`);
  if (!o.paths.length) o.paths.push("specs");
  return o;
}

function readTimes(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(TIMES_FILE, "utf8"));
  } catch {
    return {};
  }
}

interface LaneResult {
  lane: Lane;
  code: number;
  output: string;
  seconds: number;
  /** Each file's time in this run. */
  times: Record<string, number>;
}

/** Runs one lane's mocha, its output kept; resolves with its exit code, output and file times. */
function runLane(lane: Lane, dir: string): Promise<LaneResult> {
  const timesOut = join(dir, `${lane.name}.json`);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(MOCHA, lane.files, {
      cwd: ROOT,
      env: { ...process.env, FLOTILLA_SPEC_TIMES: timesOut, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0") },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    lanesRunning.add(child);
    const chunks: Buffer[] = [];
    const live = createWriteStream(join(dir, `${lane.name}.log`));
    const keep = (d: Buffer) => {
      chunks.push(d);
      live.write(d);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("close", (code, signal) => {
      lanesRunning.delete(child);
      live.end();
      let times: Record<string, number> = {};
      if (existsSync(timesOut)) times = JSON.parse(readFileSync(timesOut, "utf8"));
      resolve({ lane, code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString(), seconds: (Date.now() - started) / 1000, times });
    });
  });
}

const lanesRunning = new Set<ChildProcess>();
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    // Each lane gets the signal as mocha would from a terminal; its root hooks clean up after it.
    for (const c of lanesRunning) {
      try {
        process.kill(-c.pid!, sig);
      } catch {}
    }
  });
}

const count = (output: string, word: string): number => Number(new RegExp(`(\\d+) ${word}`).exec(output.replace(/\x1b\[[0-9;]*m/g, ""))?.[1] ?? 0);

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const files = specFiles(o.paths);
  const known = readTimes();
  const plan = planLanes(files, {
    lanes: o.lanes,
    isHostState: (f) => HOST_STATE.test(readFileSync(join(ROOT, f), "utf8")),
    timeOf: (f) => known[f] ?? UNKNOWN_MS,
  });
  const started = Date.now();
  process.stdout.write(`${files.length} spec files in ${plan.length} lane(s): ${plan.map((l) => `${l.name} ${l.files.length} files (~${Math.round(l.ms / 1000)} s)`).join(", ")}\n`);
  const dir = mkdtempSync(join(tmpdir(), "flotilla-lanes-"));
  process.stdout.write(`each lane's output as it runs: ${dir}/<lane>.log\n`);
  const results: LaneResult[] = [];
  try {
    await Promise.all(
      plan.map((lane) =>
        runLane(lane, dir).then((r) => {
          results.push(r);
          process.stdout.write(`\n━━ ${lane.name}: ${lane.files.length} files, ${r.code === 0 ? "passed" : `FAILED (exit ${r.code})`} in ${Math.round(r.seconds)} s ━━\n${r.output}`);
        }),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\nlanes (${Math.round((Date.now() - started) / 1000)} s in all):\n`);
  for (const r of results.sort((a, b) => plan.indexOf(a.lane) - plan.indexOf(b.lane))) {
    process.stdout.write(`  ${r.lane.name.padEnd(7)} ${r.code === 0 ? "passed" : "FAILED"}  ${String(count(r.output, "passing")).padStart(5)} passing  ${String(count(r.output, "failing")).padStart(3)} failing  ${String(count(r.output, "pending")).padStart(3)} pending  ${Math.round(r.seconds)} s\n`);
  }
  if (o.record) {
    const all = { ...known };
    for (const r of results) Object.assign(all, r.times);
    const sorted = Object.fromEntries(Object.entries(all).filter(([f]) => existsSync(join(ROOT, f))).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(TIMES_FILE, `${JSON.stringify(sorted, null, 1)}\n`);
    process.stdout.write(`recorded the times of ${Object.keys(sorted).length} spec files in ${relative(ROOT, TIMES_FILE)}\n`);
  }
  process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
}

if (process.argv[1] === import.meta.filename) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  });
}
