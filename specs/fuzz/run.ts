/**
 * `npm run fuzz [-- --seed N] [--runs N] [--http-runs N] [--bus-runs N] [--concurrency N]`:
 * fuzzes a real cluster over HTTP and the bus (10,000 of each by default) and prints the seed,
 * the answers and every problem, each shrunk to a small counterexample. Exits 1 on any problem.
 */
import { parseArgs } from "node:util";
import { runFuzz, formatReport } from "./fuzz.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    runs: { type: "string" },
    "http-runs": { type: "string" },
    "bus-runs": { type: "string" },
    concurrency: { type: "string" },
  },
});
const int = (v: string | undefined, d: number) => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${v}`);
  return n;
};
const seed = int(values.seed, Math.floor(Math.random() * 2 ** 31));
const runs = int(values.runs, 10_000);
process.stdout.write(`fuzzing with seed ${seed} (repeat with --seed ${seed})\n`);
const t0 = Date.now();
const report = await runFuzz({
  seed,
  httpRuns: int(values["http-runs"], runs),
  busRuns: int(values["bus-runs"], runs),
  concurrency: int(values.concurrency, 4),
  progress: (l) => process.stdout.write(l + "\n"),
});
process.stdout.write(formatReport(report) + `\n(${Math.round((Date.now() - t0) / 1000)} s)\n`);
process.exit(report.problems.length ? 1 : 0);
