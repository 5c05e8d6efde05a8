/**
 * A CPU profile's summary (bench/lib/cpu-profile.ts): top functions and modules, and the tasks
 * that held the event loop longest.
 *
 * @example
 *   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.….cpuprofile --tasks 1000
 *   node --import tsx bench/profile-summary.ts CPU.….cpuprofile --from 300 --to 600   # seconds 300–600 only
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { summarizeProfile, formatSummary, longTasks, formatLongTasks, sliceProfile, type CpuProfile } from "./lib/cpu-profile.ts";

const args = process.argv.slice(2);
/** `--name N`: its number (removed from args), or `fallback`. */
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const v = Number(args.splice(at, 2)[1]);
  if (!Number.isFinite(v)) throw new Error(`${name} expects a number`);
  return v;
};
const minMs = flag("--tasks", 1000);
const fromS = flag("--from", 0);
const toS = flag("--to", Infinity);
for (const file of args) {
  const whole = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const p = fromS > 0 || toS < Infinity ? sliceProfile(whole, fromS, toS) : whole;
  const title = basename(file) + (p === whole ? "" : ` (seconds ${fromS}–${toS === Infinity ? "end" : toS})`);
  console.log(formatSummary(title, summarizeProfile(p), 20));
  console.log(formatLongTasks(title, longTasks(p, minMs), minMs, 6));
}
