/**
 * The cluster under chaos: three servers (`flotilla up --servers 3` in this process's control) and
 * three worker processes (`flotilla node join`, process engine), each a process group of its own
 * so that a fault can SIGKILL or SIGSTOP exactly one of them.
 */
import type { ChildProcess } from "node:child_process";
import type { RunningServers } from "../../cli/up-servers.ts";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, openSync, closeSync } from "node:fs";
import { join } from "node:path";
import { upServers } from "../../cli/up-servers.ts";
import { signalServer, alive, FLOTILLA_BIN } from "../../runtime/cluster/processes.ts";
import { readPids, readServerState } from "../../runtime/cluster/server-config.ts";
import { streamPlacements, localStreamStates } from "../../runtime/cluster/jetstream-cluster.ts";
import { serverOfNatsName } from "../../runtime/cluster/nats-identity.ts";
import { pingActors, connectNats } from "../../runtime/host.ts";
import { subjects } from "../../bus/subjects.ts";
import { apiOf, adminConnections, serverOf } from "../harness/servers.ts";
import { userUrl } from "../../cli/server-run.ts";
import { killProcessContainers } from "../actors/kubelet/behaviours.ts";

export type Api = ReturnType<typeof apiOf>;

export interface Worker {
  name: string;
  child?: ChildProcess;
}

/** The actors that are leader-elected: each must lead again after every fault. */
export const LEADER_ELECTED = ["scheduler", "node-controller", "replication-controller", "deployment-controller", "endpoints-controller", "garbage-collector", "namespace-controller"] as const;

export class ChaosCluster {
  readonly workers: Worker[];
  readonly apis = new Map<string, Api>();
  private admin?: Awaited<ReturnType<typeof adminConnections>>;

  private constructor(
    readonly dir: string,
    readonly c: RunningServers,
    workers: number,
  ) {
    this.workers = Array.from({ length: workers }, (_, i) => ({ name: `worker-${i + 1}` }));
    for (const s of c.servers) this.apis.set(s.name, apiOf(c, s.apiUrl, 5000));
  }

  static async start(dir: string, o: { workers: number; leaseDurationMs: number }): Promise<ChaosCluster> {
    const c = await upServers({ dataDir: dir, servers: 3, nodes: 0, engine: "process", port: 0, natsPort: 0, quiet: true, leaseDurationMs: o.leaseDurationMs });
    const cc = new ChaosCluster(dir, c, o.workers);
    try {
      for (const w of cc.workers) cc.startWorker(w.name);
      cc.admin = await adminConnections(c);
    } catch (e) {
      await cc.stop();
      throw e;
    }
    return cc;
  }

  get serverNames(): string[] {
    return this.c.servers.map((s) => s.name);
  }

  api(server: string): Api {
    return this.apis.get(server)!;
  }

  private server(name: string) {
    return this.c.servers.find((s) => s.name === name)!;
  }

  /** A worker: `flotilla node join` through server A, its own process group, logging to its dir. */
  startWorker(name: string): void {
    const w = this.workers.find((x) => x.name === name)!;
    const dir = join(this.dir, "workers");
    mkdirSync(dir, { recursive: true });
    const first = this.c.servers[0]!;
    const log = openSync(join(dir, `${name}.log`), "a");
    const natsHostPort = first.natsUrl.replace(/^nats:\/\//, "");
    w.child = spawn(process.execPath, [FLOTILLA_BIN, "node", "join", natsHostPort, "--token", this.c.token, "--name", name, "--engine", "process", "--data-dir", dir], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, FLOTILLA_LOG: process.env.FLOTILLA_LOG ?? "warn" },
    });
    closeSync(log);
  }

  killWorker(name: string): void {
    const w = this.workers.find((x) => x.name === name)!;
    if (w.child?.pid) signalGroup(w.child.pid, "SIGKILL");
  }

  killServer(name: string): void {
    const s = this.server(name);
    signalServer(s.dir, "SIGKILL", s.pgid);
  }

  async restartServer(name: string): Promise<void> {
    await this.c.restart(name);
  }

  /** SIGSTOP every process of a server; SIGCONT after `ms`. */
  async freezeServer(name: string, ms: number): Promise<void> {
    const s = this.server(name);
    signalGroup(s.pgid, "SIGSTOP");
    await new Promise((r) => setTimeout(r, ms));
    signalGroup(s.pgid, "SIGCONT");
  }

  /**
   * Cuts one server off from the others: every packet between its address and theirs is dropped
   * (iptables on the loopback interface; the servers listen on 127.0.0.2–4) for `ms`, then healed.
   * Clients on 127.0.0.1 still reach it, as clients on its side of a real partition would.
   */
  async partitionServer(name: string, ms: number): Promise<void> {
    const me = this.server(name).address;
    const others = this.c.servers.filter((s) => s.name !== name).map((s) => s.address);
    const rules = others.flatMap((o) => [
      ["-s", me, "-d", o],
      ["-s", o, "-d", me],
    ]);
    for (const r of rules) iptables(["-I", "INPUT", ...r, "-m", "comment", "--comment", PARTITION_TAG, "-j", "DROP"]);
    try {
      await new Promise((r) => setTimeout(r, ms));
    } finally {
      healPartitions();
    }
  }

  /** SIGKILL only the server's nats-server; the server process supervises and restarts it. */
  killNats(name: string): number | undefined {
    const s = this.server(name);
    const serverPid = readServerState(s.dir)?.pid;
    if (!serverPid) return undefined;
    const pid = childNamed(serverPid, "nats-server");
    if (pid) process.kill(pid, "SIGKILL");
    return pid;
  }

  /** The server whose store (JetStream stream) leads the main bucket. */
  async streamLeader(): Promise<string | undefined> {
    const s = subjects("default");
    const leader = (await streamPlacements(this.admin!.nc, [s.kvStream(s.bucket())]).catch(() => []))[0]?.leader;
    return leader === undefined ? undefined : serverOfNatsName(leader);
  }

  /** Where every bucket's replicas are and how current they are. */
  async placements(): Promise<Awaited<ReturnType<typeof streamPlacements>>> {
    const s = subjects("default");
    const streams = [s.bucket(), s.eventsBucket(), s.leasesBucket(), s.serversBucket()].map((b) => s.kvStream(b));
    return streamPlacements(this.admin!.nc, streams).catch(() => []);
  }

  /** Each server's own copy of the main bucket's stream (messages, first and last sequence). */
  async bucketCopies(): Promise<Awaited<ReturnType<typeof localStreamStates>>> {
    const s = subjects("default");
    const stream = s.kvStream(s.bucket());
    return (await localStreamStates(this.admin!.sys, 700).catch(() => [])).filter((x) => x.stream === stream);
  }

  /** The server that runs the leading replica of a leader-elected actor. */
  async leaderOf(kind: string): Promise<string | undefined> {
    const actors = await pingActors(this.admin!.nc, "default", 500).catch(() => []);
    const a = actors.find((x) => x.kind === kind && x.leader === true);
    return a ? serverOf(this.c, a.pid) : undefined;
  }

  /** Every leader-elected actor leads from a live server. */
  async everyActorLeads(): Promise<string[]> {
    const actors = await pingActors(this.admin!.nc, "default", 500).catch(() => []);
    return LEADER_ELECTED.filter((k) => !actors.some((a) => a.kind === k && a.leader === true));
  }

  /**
   * Through each server's own nats-server: how long the main bucket's stream info takes (answered
   * by the stream's leader, wherever it is), or "timeout"/"down". Shows a server whose JetStream
   * API no longer reaches the leader.
   */
  async jsApiThroughEach(): Promise<Record<string, string>> {
    const s = subjects("default");
    const out: Record<string, string> = {};
    await Promise.all(
      this.c.servers.map(async (srv) => {
        const nc = await connectNats(userUrl(srv.natsUrl, this.c.token), "chaos-probe", undefined, { tls: { caFile: this.c.caFile }, maxReconnectAttempts: 0, timeout: 2000 }).catch(() => undefined);
        if (!nc) return void (out[srv.name] = "down");
        const t = Date.now();
        out[srv.name] = await nc.request(`$JS.API.STREAM.INFO.${s.kvStream(s.bucket())}`, "", { timeout: 3000 }).then(() => `${Date.now() - t} ms`, () => "timeout");
        await nc.close().catch(() => undefined);
      }),
    );
    return out;
  }

  serverAlive(name: string): boolean {
    return readPids(this.server(name).dir).some(alive);
  }

  /** At once, without waiting: every worker and server process group SIGKILLed (a frozen one too), their pods ended. */
  killNow(): void {
    for (const w of this.workers) if (w.child?.pid) signalGroup(w.child.pid, "SIGKILL");
    for (const w of this.workers) killProcessContainers(join(this.dir, "workers", "nodes", w.name));
    for (const s of this.c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
  }

  async stop(): Promise<void> {
    healPartitions();
    for (const w of this.workers) if (w.child?.pid) signalGroup(w.child.pid, "SIGKILL");
    for (const w of this.workers) killProcessContainers(join(this.dir, "workers", "nodes", w.name));
    for (const a of this.apis.values()) a.close();
    await this.admin?.close().catch(() => undefined);
    await this.c.stop().catch(() => undefined);
    for (const s of this.c.servers) signalServer(s.dir, "SIGKILL", s.pgid);
  }
}

const PARTITION_TAG = "flotilla-chaos-partition";

function iptables(args: string[]): string {
  return execFileSync("iptables", ["-w", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Whether this run may cut servers off (root and iptables). */
export function canPartition(): string | undefined {
  if (process.getuid?.() !== 0) return "partitions need root (iptables)";
  try {
    iptables(["-S", "INPUT"]);
    return undefined;
  } catch (e) {
    return `iptables does not work here: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** Removes every rule a partition added (also after a run that was interrupted). */
export function healPartitions(): void {
  let lines: string[] = [];
  try {
    lines = iptables(["-S", "INPUT"]).split("\n").filter((l) => l.includes(PARTITION_TAG));
  } catch {
    return;
  }
  for (const l of lines) {
    try {
      execFileSync("sh", ["-c", `iptables -w ${l.replace(/^-A /, "-D ")}`], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* gone */
  }
}

function childNamed(parent: number, name: string): number | undefined {
  try {
    const out = execFileSync("pgrep", ["-P", String(parent), "-x", name], { encoding: "utf8" }).trim();
    return out ? Number(out.split("\n")[0]) : undefined;
  } catch {
    return undefined;
  }
}
