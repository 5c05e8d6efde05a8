/**
 * A CPU profile's summary (bench/lib/cpu-profile.ts): top functions and modules, and the tasks
 * that held the event loop longest.
 *
 * @example
 *   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.….cpuprofile --tasks 1000
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { summarizeProfile, formatSummary, longTasks, formatLongTasks, type CpuProfile } from "./lib/cpu-profile.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--tasks");
const minMs = at >= 0 ? Number(args.splice(at, 2)[1]) : 1000;
for (const file of args) {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  console.log(formatSummary(basename(file), summarizeProfile(p), 20));
  console.log(formatLongTasks(basename(file), longTasks(p, minMs), minMs, 6));
}
