/**
 * `npm run bench [-- --quick] [-- --only store,api]`: runs every benchmark, each in its own
 * process, with a progress bar on stderr; writes bench/results/<date>.json, .md and .svg, prints
 * the table, and (full run of every benchmark, or --docs) updates the table in docs/performance.md.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchOutcome, BenchResults, Mode } from "./report/types.ts";
import type { ChildMessage } from "./lib/progress.ts";
import { SUITE, type BenchDef } from "./suite.ts";
import { renderMarkdown, renderTable, replaceTable } from "./report/table.ts";
import { renderSvg } from "./report/svg.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, "results");
const DOC = join(HERE, "../docs/performance.md");

function parseArgs(argv: string[]): { mode: Mode; only?: string[]; docs: boolean } {
  const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1]?.split(",") : undefined;
  const unknown = only?.filter((n) => !SUITE.some((b) => b.name === n)) ?? [];
  if (argv.includes("--help") || unknown.length || (argv.includes("--only") && !only)) {
    process.stderr.write(`usage: npm run bench -- [--quick] [--only <${SUITE.map((b) => b.name).join(",")}>] [--docs]\n`);
    if (unknown.length) process.stderr.write(`unknown benchmark: ${unknown.join(", ")}\n`);
    process.exit(2);
  }
  return { mode: argv.includes("--quick") ? "quick" : "full", only, docs: argv.includes("--docs") };
}

class Bar {
  private last = 0;
  private readonly tty = process.stderr.isTTY;
  constructor(private readonly total: number, private readonly t0 = Date.now()) {}
  draw(done: number, what: string, force = false): void {
    const now = Date.now();
    if (!force && !this.tty && now - this.last < 10_000) return;
    this.last = now;
    const f = Math.min(1, done / this.total);
    const width = 30;
    const fill = Math.round(f * width);
    const el = Math.round((now - this.t0) / 1000);
    const line = `[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${String(Math.round(f * 100)).padStart(3)}%  ${Math.floor(el / 60)}m${String(el % 60).padStart(2, "0")}s  ${what}`;
    process.stderr.write(this.tty ? `\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}` : `${line}\n`);
  }
  end(): void {
    if (this.tty) process.stderr.write("\n");
  }
}

function runChild(def: BenchDef, mode: Mode, logPath: string, onProgress: (f: number, what: string) => void): Promise<BenchOutcome> {
  const t0 = Date.now();
  const log = openSync(logPath, "a");
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, "child.ts"), def.name, mode], { stdio: ["ignore", log, log, "pipe"], env: { ...process.env } });
  let result: Extract<ChildMessage, { type: "result" }> | undefined;
  createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on("line", (line) => {
    try {
      const m = JSON.parse(line) as ChildMessage;
      if (m.type === "progress") onProgress(m.fraction, m.what);
      else result = m;
    } catch {
      /* not ours */
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), def.limit[mode] * 1000);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      closeSync(log);
      const seconds = (Date.now() - t0) / 1000;
      if (result && code === 0) return resolve({ name: def.name, ok: true, seconds, figures: result.figures, maxRssMb: result.maxRssMb });
      const tail = readFileSync(logPath, "utf8").trim().split("\n").filter((l) => l.includes(`${def.name} failed`)).pop();
      const why = signal === "SIGKILL" ? `stopped after its ${def.limit[mode]} s limit` : tail?.replace(`${def.name} failed: `, "") ?? `exit code ${code}`;
      resolve({ name: def.name, ok: false, seconds, figures: [], error: why });
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const benches = SUITE.filter((b) => !args.only || args.only.includes(b.name));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().slice(0, 10) + (args.mode === "quick" ? "-quick" : "") + (args.only ? `-${args.only.join("+")}` : "");
  mkdirSync(RESULTS, { recursive: true });
  const logPath = join(RESULTS, `${stamp}.log`);
  writeFileSync(logPath, "");
  const total = benches.reduce((a, b) => a + b.estimate[args.mode], 0);
  const bar = new Bar(total);
  const outcomes: BenchOutcome[] = [];
  let done = 0;
  process.stderr.write(`flotilla bench (${args.mode}): ${benches.map((b) => b.name).join(", ")} — about ${Math.ceil(total / 60)} min; logs in ${logPath}\n`);
  for (const def of benches) {
    const est = def.estimate[args.mode];
    bar.draw(done, def.name, true);
    const o = await runChild(def, args.mode, logPath, (f, what) => bar.draw(done + f * est, `${def.name}: ${what}`));
    done += est;
    outcomes.push(o);
    bar.draw(done, `${def.name} ${o.ok ? "done" : "FAILED: " + o.error} (${o.seconds.toFixed(0)} s)`, true);
  }
  bar.end();
  const cpu = cpus();
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    mode: args.mode,
    host: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? "unknown", memoryGb: Math.round(totalmem() / 2 ** 30), node: process.versions.node, platform: process.platform },
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    benches: outcomes,
  };
  const base = join(RESULTS, stamp);
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + "\n");
  writeFileSync(`${base}.md`, renderMarkdown(results));
  writeFileSync(`${base}.svg`, renderSvg(results));
  process.stdout.write(renderTable(results) + "\n\n");
  process.stdout.write(`wrote ${base}.json, .md and .svg\n`);
  if (args.mode === "full" && !args.only) {
    // The JSON behind the table in docs/performance.md, committed so every row can be traced.
    writeFileSync(join(RESULTS, "latest.json"), JSON.stringify(results, null, 2) + "\n");
    process.stdout.write(`wrote ${join(RESULTS, "latest.json")}\n`);
  }
  if (args.docs || (args.mode === "full" && !args.only)) {
    const doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Performance\n";
    writeFileSync(DOC, replaceTable(doc, renderTable(results)));
    process.stdout.write(`updated the table in ${DOC}\n`);
  }
  process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
}

await main();
