/**
 * What a spec run left behind: processes, Docker containers, network namespaces, mounts and
 * listening ports that belong to this run (run.ts) and still exist after its last spec.
 *
 * A process belongs to the run when its environment carries `FLOTILLA_TEST_RUN=<id>`, its command
 * line, working directory or process group leader's command line names the run directory (pods of
 * the process engine get a clean environment, but their shim is started with a path under the
 * data dir), or it is a child of the spec process. A container belongs to it when its name or
 * `flotilla.cluster` label carries the run id (`runCluster()`); a network namespace when its name
 * does; a mount when it lies under the run directory; a port when a process of the run (or the
 * spec process itself) listens on it.
 */
import type { TestRun } from "./run.ts";
import { readdirSync, readFileSync, readlinkSync, existsSync } from "node:fs";
import Docker from "dockerode";
import { execFileSync } from "node:child_process";

export const LeakKind = { process: "process", container: "container", netns: "netns", mount: "mount", port: "port" } as const;
export type LeakKind = (typeof LeakKind)[keyof typeof LeakKind];

export interface Leak {
  kind: LeakKind;
  /** pid, container id, namespace name, mount point, or address:port. */
  id: string;
  what: string;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  comm: string;
  cmdline: string;
  cwd: string;
  environ: string[];
}

/** `/proc/<pid>/stat`: the command sits in parentheses and may itself hold spaces or parentheses. */
export function parseStat(stat: string): Pick<ProcInfo, "pid" | "comm" | "state" | "ppid" | "pgid"> {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  const [state, ppid, pgid] = stat.slice(close + 2).split(" ");
  return { pid: Number(stat.slice(0, open).trim()), comm: stat.slice(open + 1, close), state: state!, ppid: Number(ppid), pgid: Number(pgid) };
}

const read = (p: string): string => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
const link = (p: string): string => {
  try {
    return readlinkSync(p);
  } catch {
    return "";
  }
};

export function readProc(pid: number): ProcInfo | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return {
    ...parseStat(stat),
    cmdline: read(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).join(" "),
    cwd: link(`/proc/${pid}/cwd`),
    environ: read(`/proc/${pid}/environ`).split("\0"),
  };
}

export function allProcs(): ProcInfo[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => !!p);
}

/** Why a process belongs to the run, or undefined (pure). */
export function ownedBy(p: ProcInfo, run: TestRun, byPid: ReadonlyMap<number, ProcInfo>): string | undefined {
  if (p.pid === run.pid || p.state === "Z") return undefined;
  // tsx's esbuild service lives as long as the spec process: not something a spec started.
  if (p.ppid === run.pid && p.comm === "esbuild") return undefined;
  if (p.environ.includes(`FLOTILLA_TEST_RUN=${run.id}`)) return "started by this run";
  if (p.cmdline.includes(run.dir)) return "its command line names the run's directory";
  if (p.cwd.startsWith(run.dir)) return "it works in the run's directory";
  const leader = p.pgid !== p.pid ? byPid.get(p.pgid) : undefined;
  if (leader?.cmdline.includes(run.dir)) return "its process group was started in the run's directory";
  if (p.ppid === run.pid) return "a child of the spec process";
  return undefined;
}

/** Listening TCP sockets and bound UDP sockets of `/proc/net/{tcp,tcp6,udp,udp6}`: inode → address. */
export function parseSockets(table: string, proto: "tcp" | "udp"): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, , st] = [f[1]!, f[2]!, f[3]!];
    if (proto === "tcp" ? st !== "0A" : st !== "07") continue;
    out.set(f[9]!, `${proto} ${hexAddress(local)}`);
  }
  return out;
}

function hexAddress(hex: string): string {
  const [ip, port] = hex.split(":") as [string, string];
  const p = parseInt(port, 16);
  if (ip.length === 8) {
    const b = ip.match(/../g)!.map((x) => parseInt(x, 16)).reverse();
    return `${b.join(".")}:${p}`;
  }
  return `[${ip}]:${p}`;
}

function socketsOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => link(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1]).filter((x): x is string => !!x);
  } catch {
    return [];
  }
}

const short = (text: string, n = 160) => {
  const s = text.replace(/\s+/g, " ");
  return s.length > n ? `${s.slice(0, n)}…` : s;
};

/** A busy or hung engine must not hang the check. */
const dockerClient = () => new Docker({ timeout: 20_000 });

async function containerLeaks(run: TestRun): Promise<Leak[]> {
  const docker = dockerClient();
  const list = await docker.listContainers({ all: true }).catch(() => undefined);
  if (!list) return [];
  return list
    .filter((c) => (c.Labels?.["flotilla.cluster"] ?? "").includes(run.id) || c.Names.some((n) => n.includes(run.id)))
    .map((c) => ({ kind: LeakKind.container, id: c.Id, what: `${c.Names[0]?.replace(/^\//, "")} (${c.State})` }));
}

/** Everything of the run still there now. */
export async function findLeaks(run: TestRun): Promise<Leak[]> {
  const procs = allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const leaks: Leak[] = [];
  const owners: ProcInfo[] = [byPid.get(run.pid)!].filter(Boolean);
  for (const p of procs) {
    const why = ownedBy(p, run, byPid);
    if (!why) continue;
    owners.push(p);
    leaks.push({ kind: LeakKind.process, id: String(p.pid), what: `${short(p.cmdline || p.comm)} (${why})` });
  }
  const sockets = new Map<string, string>();
  for (const [file, proto] of [["tcp", "tcp"], ["tcp6", "tcp"], ["udp", "udp"], ["udp6", "udp"]] as const) for (const [k, v] of parseSockets(read(`/proc/net/${file}`), proto)) sockets.set(k, v);
  for (const p of owners) {
    for (const inode of socketsOf(p.pid)) {
      const addr = sockets.get(inode);
      if (addr) leaks.push({ kind: LeakKind.port, id: addr, what: `${addr} held by pid ${p.pid} ${p.pid === run.pid ? "(the spec process itself)" : short(p.cmdline, 80)}` });
    }
  }
  leaks.push(...(await containerLeaks(run)));
  for (const dir of ["/run/netns", "/var/run/netns"]) {
    if (!existsSync(dir)) continue;
    for (const n of readdirSync(dir)) if (n.includes(run.id) && !leaks.some((l) => l.kind === LeakKind.netns && l.id === n)) leaks.push({ kind: LeakKind.netns, id: n, what: `network namespace ${n}` });
  }
  for (const line of read("/proc/self/mountinfo").split("\n")) {
    const point = line.split(" ")[4];
    if (point && (point.startsWith(run.dir) || point.includes(run.id))) leaks.push({ kind: LeakKind.mount, id: point, what: `mount on ${point}` });
  }
  return leaks;
}

/** One line per leak, grouped by kind. */
export function describeLeaks(leaks: Leak[]): string {
  return leaks.map((l) => `  ${l.kind} ${l.kind === LeakKind.port || l.kind === LeakKind.mount || l.kind === LeakKind.netns ? "" : `${l.id.slice(0, 12)} `}${l.what}`).join("\n");
}

/** Removes what was left (after reporting it), so the next run starts on a clean machine. */
export async function removeLeaks(leaks: Leak[]): Promise<void> {
  const docker = dockerClient();
  for (const l of leaks) {
    try {
      if (l.kind === LeakKind.process) {
        const pid = Number(l.id);
        if (readProc(pid)?.pgid === pid) process.kill(-pid, "SIGKILL");
        else process.kill(pid, "SIGKILL");
      } else if (l.kind === LeakKind.container) await docker.getContainer(l.id).remove({ force: true });
      else if (l.kind === LeakKind.mount) execFileSync("umount", ["-l", l.id], { stdio: "ignore" });
      else if (l.kind === LeakKind.netns) execFileSync("ip", ["netns", "delete", l.id], { stdio: "ignore" });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}
