/** Resident memory of processes, read from /proc (Linux). */
import { readFileSync, readdirSync } from "node:fs";

/** VmRSS of one process in MB (0 when it is gone). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …" — comm may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** Each root and all its descendants (each parent before its children), from one pass over /proc. */
export function processTrees(roots: readonly number[]): number[] {
  const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  const children = new Map<number, number[]>();
  for (const p of pids) {
    const pp = parentOf(p);
    if (pp !== undefined) children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  for (const r of roots) walk(r);
  return out;
}

/** The process and all its descendants, each with its RSS. */
export function treeRss(root: number): { pid: number; comm: string; mb: number }[] {
  return processTrees([root]).map((pid) => ({ pid, comm: commOf(pid), mb: rssMb(pid) }));
}

export const sumMb = (xs: { mb: number }[]) => Math.round(xs.reduce((a, x) => a + x.mb, 0));

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux the project runs on (sysconf(_SC_CLK_TCK))

/** User + system CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The cores each part used between two readings of CPU seconds (CPU seconds ÷ wall seconds, two decimals). */
export function coresUsed(before: Record<string, number>, after: Record<string, number>, wallSeconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round(((v - (before[k] ?? 0)) / wallSeconds) * 100) / 100]));
}

/** CPU seconds used so far by each command of a process tree (summed over processes of one name). */
export function treeCpu(root: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of processTrees([root])) {
    const c = commOf(pid);
    out[c] = (out[c] ?? 0) + cpuSeconds(pid);
  }
  return out;
}
