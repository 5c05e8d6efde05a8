/**
 * Resource limits and usage for the process engine, through Linux control groups.
 *
 * Each container gets a cgroup of its own, named after the container id, under a flotilla subtree
 * scoped by cluster and node (so kubelets of other nodes never touch it):
 *   cgroup v1: <root>/{cpu,cpuacct,memory}/flotilla/<cluster>/<node>/<id>/
 *   cgroup v2: <root>/flotilla/<cluster>/<node>/<id>/  (cpu and memory enabled down the subtree)
 * The container's first process writes its own pid into each `cgroup.procs` before it execs the
 * shim (`joinArgv`), so every process of the container is accounted from the start.
 *
 * Limits: cpu limit → CFS quota over a 100 ms period (`cpu.cfs_quota_us` / `cpu.max`); cpu request
 * (else limit) → `cpu.shares` / `cpu.weight`; memory limit → `memory.limit_in_bytes` (and
 * `memsw` where swap accounting exists) / `memory.max` with `memory.swap.max` 0. A process the
 * kernel kills at the memory limit shows in `memory.oom_control` (v1, `oom_kill N`) or
 * `memory.events` (v2, `oom_kill N`): the container is reported `OOMKilled`.
 *
 * Without a writable cgroup hierarchy (not root, read-only /sys) the mode is `none`: limits are
 * recorded only, and usage is not reported.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync, accessSync, constants } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../../runtime/logger.ts";

export const CgroupMode = { v1: "v1", v2: "v2", none: "none" } as const;
export type CgroupMode = (typeof CgroupMode)[keyof typeof CgroupMode];

export interface CgroupLimits {
  /** cpu limit in millicores. */
  cpuMillis?: number;
  /** cpu request in millicores (weight); falls back to the limit. */
  cpuRequestMillis?: number;
  /** memory limit in bytes. */
  memoryBytes?: number;
}

export interface CgroupUsage {
  /** Cumulative cpu time of every process of the container, in nanoseconds. */
  cpuUsageNanos: number;
  /** Memory in use minus inactive page cache (what the kernel would not reclaim first). */
  memoryWorkingSetBytes: number;
}

export const CFS_PERIOD_US = 100_000;
const V1_CONTROLLERS = ["cpu", "cpuacct", "memory"] as const;

/** cpu.shares of a cpu request, as the kubelet computes it (1024 per core, at least 2). */
export function cpuShares(millis: number | undefined): number {
  if (!millis) return 1024;
  return Math.max(2, Math.floor((millis * 1024) / 1000));
}

/** cgroup v2 weight of v1 shares (the conversion runc and the kubelet use). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** The files to write, in order, per controller ("" = the single v2 directory). Pure. */
export function limitWrites(mode: Exclude<CgroupMode, "none">, l: CgroupLimits, memswAvailable = false): { controller: string; file: string; value: string }[] {
  const shares = cpuShares(l.cpuRequestMillis ?? l.cpuMillis);
  const quota = l.cpuMillis ? Math.max(1000, Math.floor((l.cpuMillis * CFS_PERIOD_US) / 1000)) : undefined;
  if (mode === "v1") {
    const w = [
      { controller: "cpu", file: "cpu.shares", value: String(shares) },
      { controller: "cpu", file: "cpu.cfs_period_us", value: String(CFS_PERIOD_US) },
      { controller: "cpu", file: "cpu.cfs_quota_us", value: String(quota ?? -1) },
    ];
    if (l.memoryBytes) {
      w.push({ controller: "memory", file: "memory.limit_in_bytes", value: String(l.memoryBytes) });
      if (memswAvailable) w.push({ controller: "memory", file: "memory.memsw.limit_in_bytes", value: String(l.memoryBytes) });
    }
    return w;
  }
  const w = [
    { controller: "", file: "cpu.weight", value: String(sharesToWeight(shares)) },
    { controller: "", file: "cpu.max", value: `${quota ?? "max"} ${CFS_PERIOD_US}` },
  ];
  if (l.memoryBytes) {
    w.push({ controller: "", file: "memory.max", value: String(l.memoryBytes) });
    w.push({ controller: "", file: "memory.swap.max", value: "0" });
  }
  return w;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, memory.oom_control) as a map. Pure. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** Shell prologue that puts its own pid into each given cgroup.procs, then execs the rest. */
const JOIN = `while [ "$1" != -- ]; do echo $$ > "$1" 2>/dev/null; shift; done; shift; exec "$@"`;

export interface ProcessCgroupsOptions {
  /** Where cgroups are mounted (default /sys/fs/cgroup). */
  root?: string;
  cluster: string;
  nodeName: string;
  log: Logger;
  /** Force a mode (specs); otherwise detected. */
  mode?: CgroupMode;
}

export class ProcessCgroups {
  readonly mode: CgroupMode;
  private readonly root: string;
  private readonly scope: string[];
  private readonly log: Logger;

  constructor(o: ProcessCgroupsOptions) {
    this.root = o.root ?? "/sys/fs/cgroup";
    this.scope = ["flotilla", o.cluster, o.nodeName];
    this.log = o.log;
    this.mode = o.mode ?? this.detect();
  }

  private detect(): CgroupMode {
    const writable = (p: string) => {
      try {
        accessSync(p, constants.W_OK);
        return true;
      } catch {
        return false;
      }
    };
    if (existsSync(join(this.root, "cgroup.controllers"))) {
      const controllers = readFileSync(join(this.root, "cgroup.controllers"), "utf8");
      if (/\bcpu\b/.test(controllers) && /\bmemory\b/.test(controllers) && writable(this.root)) return "v2";
      return "none";
    }
    if (V1_CONTROLLERS.every((c) => existsSync(join(this.root, c, "cgroup.procs")) && writable(join(this.root, c)))) return "v1";
    return "none";
  }

  /** The container's cgroup directory per controller (v2: one, under ""). */
  dirs(id: string): { controller: string; dir: string }[] {
    if (this.mode === "v1") return V1_CONTROLLERS.map((c) => ({ controller: c, dir: join(this.root, c, ...this.scope, id) }));
    if (this.mode === "v2") return [{ controller: "", dir: join(this.root, ...this.scope, id) }];
    return [];
  }

  private dir(id: string, controller: string): string | undefined {
    return this.dirs(id).find((d) => d.controller === (this.mode === "v2" ? "" : controller))?.dir;
  }

  /** v2: cpu and memory must be enabled in every ancestor's subtree_control. */
  private enableV2Subtree(): void {
    let p = this.root;
    for (const part of this.scope) {
      const sc = join(p, "cgroup.subtree_control");
      if (!/\bcpu\b/.test(readFileSync(sc, "utf8")) || !/\bmemory\b/.test(readFileSync(sc, "utf8"))) writeFileSync(sc, "+cpu +memory");
      p = join(p, part);
      mkdirSync(p, { recursive: true });
    }
    const sc = join(p, "cgroup.subtree_control");
    if (!/\bmemory\b/.test(readFileSync(sc, "utf8"))) writeFileSync(sc, "+cpu +memory");
  }

  /**
   * Creates the container's cgroups with its limits and answers the argv prefix that joins them.
   * Any failure leaves the container unconfined (logged), never unstartable.
   */
  create(id: string, limits: CgroupLimits): string[] {
    if (this.mode === "none") return [];
    try {
      if (this.mode === "v2") this.enableV2Subtree();
      for (const d of this.dirs(id)) mkdirSync(d.dir, { recursive: true });
      const memsw = this.mode === "v1" && existsSync(join(this.dir(id, "memory")!, "memory.memsw.limit_in_bytes"));
      for (const w of limitWrites(this.mode, limits, memsw)) writeFileSync(join(this.dir(id, w.controller)!, w.file), w.value);
      const procs = this.dirs(id).map((d) => join(d.dir, "cgroup.procs"));
      return ["/bin/sh", "-c", JOIN, "cgroup-join", ...procs, "--"];
    } catch (e) {
      this.log.warn("cannot confine a container in a cgroup: limits are not enforced", { id, error: (e as Error).message });
      return [];
    }
  }

  private read(id: string, controller: string, file: string): string | undefined {
    const d = this.dir(id, controller);
    if (!d) return undefined;
    try {
      return readFileSync(join(d, file), "utf8");
    } catch {
      return undefined;
    }
  }

  /** Did the kernel kill a process of this container at its memory limit? */
  oomKilled(id: string): boolean {
    const text = this.mode === "v1" ? this.read(id, "memory", "memory.oom_control") : this.mode === "v2" ? this.read(id, "", "memory.events") : undefined;
    return (parseFlatKeyed(text ?? "").get("oom_kill") ?? 0) > 0;
  }

  usage(id: string): CgroupUsage | undefined {
    if (this.mode === "v1") {
      const cpu = this.read(id, "cpuacct", "cpuacct.usage");
      const mem = this.read(id, "memory", "memory.usage_in_bytes");
      if (cpu === undefined || mem === undefined) return undefined;
      const inactive = parseFlatKeyed(this.read(id, "memory", "memory.stat") ?? "").get("total_inactive_file") ?? 0;
      return { cpuUsageNanos: Number(cpu.trim()), memoryWorkingSetBytes: Math.max(0, Number(mem.trim()) - inactive) };
    }
    if (this.mode === "v2") {
      const cpu = this.read(id, "", "cpu.stat");
      const mem = this.read(id, "", "memory.current");
      if (cpu === undefined || mem === undefined) return undefined;
      const inactive = parseFlatKeyed(this.read(id, "", "memory.stat") ?? "").get("inactive_file") ?? 0;
      return { cpuUsageNanos: (parseFlatKeyed(cpu).get("usage_usec") ?? 0) * 1000, memoryWorkingSetBytes: Math.max(0, Number(mem.trim()) - inactive) };
    }
    return undefined;
  }

  /** Pids still in the container's cgroup. */
  pids(id: string): number[] {
    const text = this.read(id, this.mode === "v2" ? "" : "memory", "cgroup.procs") ?? "";
    return text.split("\n").filter((l) => /^\d+$/.test(l.trim())).map(Number);
  }

  /** Kills what is left in the container's cgroups and removes them (and the empty scope above). */
  async remove(id: string): Promise<void> {
    if (this.mode === "none") return;
    for (let i = 0; i < 40; i++) {
      const left = this.pids(id);
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const d of this.dirs(id)) {
      let p = d.dir;
      // The container's directory, then its node's and cluster's when empty (never `flotilla`
      // itself, which another kubelet may be creating a subtree in).
      for (let up = 0; up < this.scope.length; up++) {
        try {
          if (existsSync(p)) rmdirSync(p);
        } catch {
          break; // busy or not empty: siblings still live there
        }
        p = join(p, "..");
      }
    }
  }
}
