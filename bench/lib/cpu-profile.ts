/**
 * A V8 CPU profile (`node --cpu-prof`) summed up: where one process spent its time, by function
 * (self time) and by our own modules (time inside each, callees included), as shares of all samples.
 *
 * @example
 *   const s = summarizeProfile(JSON.parse(readFileSync("CPU.…cpuprofile", "utf8")));
 *   console.log(formatSummary("store", s, 20));
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
export interface ProfileSummary {
  totalMs: number;
  /** Share of samples, by function, time in the function itself. */
  self: [string, number][];
  /** Share of samples inside each of our modules (callees included, counted once per sample). */
  modules: [string, number][];
}

const ROOT = /.*\/(actors|bus|runtime|bench|cli)\//;

/** `name file:line`, the file relative to the project (or to node_modules). */
function frameName(f: ProfileNode["callFrame"]): string {
  const file = f.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "").replace(ROOT, "$1/");
  // Our TypeScript runs transformed, so its line numbers would mislead: the file alone.
  const line = file.endsWith(".ts") ? "" : `:${f.lineNumber + 1}`;
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}${line}` : ""}`;
}

function ourModule(f: ProfileNode["callFrame"]): string | undefined {
  const m = /\/((?:actors|bus|runtime)\/[^?]+\.ts)/.exec(f.url);
  return m?.[1];
}

/** The samples between `fromS` and `toS` seconds after the profile's first sample: a stretch of a long run. */
export function sliceProfile(p: CpuProfile, fromS: number, toS = Infinity): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let t = 0;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    if (t >= fromS * 1e6 && t < toS * 1e6) {
      samples.push(id);
      timeDeltas.push(p.timeDeltas[i] ?? 0);
    }
  });
  return { ...p, samples, timeDeltas };
}

export function summarizeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>();
  p.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  let total = 0;
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  for (const [id, t] of time) {
    total += t;
    const n = byId.get(id)!;
    const k = frameName(n.callFrame);
    self.set(k, (self.get(k) ?? 0) + t);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const mod = ourModule(byId.get(at)!.callFrame);
      if (mod && !seen.has(mod)) {
        seen.add(mod);
        modules.set(mod, (modules.get(mod) ?? 0) + t);
      }
    }
  }
  const shares = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, number] => [k, total > 0 ? v / total : 0]);
  return { totalMs: total / 1000, self: shares(self), modules: shares(modules) };
}

export function formatSummary(title: string, s: ProfileSummary, top: number): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    `### ${title}`,
    "",
    `${Math.round(s.totalMs).toLocaleString("en-US")} ms of samples.`,
    "",
    "| self time | function |",
    "| ---: | --- |",
    ...s.self.slice(0, top).map(([k, v]) => `| ${pct(v)} | \`${k}\` |`),
    "",
    "| inside (callees included) | our module |",
    "| ---: | --- |",
    ...s.modules.slice(0, top).map(([k, v]) => `| ${pct(v)} | \`${k}\` |`),
    "",
  ].join("\n");
}

/** One stretch of samples that the event loop spent in one task (no idle sample between). */
export interface LongTask {
  /** Seconds from the start of the profile. */
  atS: number;
  ms: number;
  /** The task's entry (the frame below the root), e.g. `processTicksAndRejections`. */
  entry: string;
  /** Share of the task's samples inside each of our functions (callees included), largest first. */
  inside: [string, number][];
}

/**
 * The tasks that held the event loop at least `minMs`: consecutive samples under one entry frame
 * with no `(idle)` or `(program)` sample between them (garbage collection counts toward the task
 * it interrupted). A timer or NATS reply due during such a task waits for its end.
 */
export function longTasks(p: CpuProfile, minMs: number): LongTask[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root = p.nodes[0]!.id;
  const entryOf = (id: number) => {
    let at = id;
    for (let up = parent.get(at); up !== undefined && up !== root; up = parent.get(at)) at = up;
    return at;
  };
  const out: LongTask[] = [];
  let t = 0;
  let start = 0;
  let entry = -1;
  let samples: number[] = [];
  const close = (end: number) => {
    if (entry < 0 || (end - start) / 1000 < minMs) return;
    const inside = new Map<string, number>();
    for (const id of samples) {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        const k = ourModule(f) ? `${f.functionName || "(anonymous)"} ${ourModule(f)}` : undefined;
        if (k && !seen.has(k)) {
          seen.add(k);
          inside.set(k, (inside.get(k) ?? 0) + 1);
        }
      }
    }
    const shares = [...inside].sort((a, b) => b[1] - a[1]).map(([k, v]): [string, number] => [k, v / samples.length]);
    out.push({ atS: start / 1e6, ms: (end - start) / 1000, entry: frameName(byId.get(entry)!.callFrame), inside: shares });
  };
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    const name = byId.get(id)!.callFrame.functionName;
    const e = name === "(idle)" || name === "(program)" ? -1 : name === "(garbage collector)" ? entry : entryOf(id);
    if (e !== entry) {
      close(t);
      entry = e;
      start = t;
      samples = [];
    }
    samples.push(id);
  });
  close(t);
  return out.sort((a, b) => b.ms - a.ms);
}

export function formatLongTasks(title: string, tasks: LongTask[], minMs: number, top: number): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return [
    `### ${title}: ${tasks.length} tasks of ${minMs} ms or more`,
    "",
    ...tasks.slice(0, top).flatMap((t) => [
      `- at ${t.atS.toFixed(1)} s, **${Math.round(t.ms)} ms** in \`${t.entry}\`: ` + t.inside.slice(0, 6).map(([k, v]) => `\`${k}\` ${pct(v)}`).join(", "),
    ]),
    "",
  ].join("\n");
}
