/**
 * The simulated engine: containers "run" without processes (like kubemark / KWOK hollow nodes).
 * A container becomes running after `startLatencyMs` and runs until stopped — unless its command
 * says otherwise: a command whose last word is `exit <n>` (e.g. `["sh","-c","exit 1"]`) exits with
 * that code right after starting. Pod IPs are fake, from 10.244.<nodeIndex>.<n>.
 * Usage (metrics) is simulated too: a running container uses half its cpu request (else limit,
 * else 10m) and half its memory limit (else 32 MiB), steadily.
 */
import type { Engine, EngineContainer, SandboxInfo, ContainerConfig, PodRef, LogStream, ExecResult, ContainerUsage } from "./types.ts";
import { rfc3339 } from "../../../bus/time.ts";

export interface SimulatedOptions {
  /** Distinguishes nodes' fake IP ranges (10.244.<nodeIndex % 256>.x). */
  nodeIndex?: number;
  startLatencyMs?: number;
}

let seq = 0;

export class SimulatedEngine implements Engine {
  readonly name = "simulated" as const;
  private sandboxes = new Map<string, SandboxInfo>();
  private containers = new Map<string, EngineContainer>();
  private usage = new Map<string, { cpuNanoCores: number; memoryWorkingSetBytes: number }>();
  private exitCbs: ((c: { id: string; pod: PodRef }) => void)[] = [];
  private nextIp = 2;
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: SimulatedOptions = {}) {}

  async init(): Promise<void> {}

  async listSandboxes(): Promise<SandboxInfo[]> {
    return [...this.sandboxes.values()];
  }
  async listContainers(): Promise<EngineContainer[]> {
    return [...this.containers.values()].map((c) => ({ ...c }));
  }

  async ensureSandbox(pod: PodRef): Promise<SandboxInfo> {
    const existing = [...this.sandboxes.values()].find((s) => s.pod.uid === pod.uid);
    if (existing) return existing;
    const n = this.nextIp++;
    const ip = `10.244.${(this.opts.nodeIndex ?? 0) % 256}.${n % 254 === 0 ? 254 : n % 254}`;
    const s: SandboxInfo = { pod, id: `sim-sandbox-${++seq}`, ip, hostPorts: {}, createdAt: rfc3339(Date.now()) };
    this.sandboxes.set(s.id, s);
    return s;
  }

  async ensureImage(image: string): Promise<{ imageID: string; pulled: boolean }> {
    return { imageID: `simulated://${image}`, pulled: false };
  }

  async startContainer(sandbox: SandboxInfo, cfg: ContainerConfig, imageID: string): Promise<EngineContainer> {
    const latency = this.opts.startLatencyMs ?? 0;
    if (latency > 0) await new Promise((r) => this.later(r, latency));
    const c: EngineContainer = {
      id: `sim-${++seq}`,
      pod: sandbox.pod,
      name: cfg.name,
      attempt: cfg.attempt,
      init: cfg.init,
      state: "running",
      image: cfg.image,
      imageID,
      startedAt: new Date().toISOString(),
    };
    this.containers.set(c.id, c);
    this.usage.set(c.id, { cpuNanoCores: ((cfg.cpuRequestMillis ?? cfg.cpuMillis ?? 10) / 2) * 1e6, memoryWorkingSetBytes: Math.floor((cfg.memoryBytes ?? 32 * 2 ** 20) / 2) });
    const words = [...(cfg.command ?? []), ...(cfg.args ?? [])].join(" ").trim().split(/\s+/);
    const exitAt = words.lastIndexOf("exit");
    if (exitAt >= 0 && exitAt === words.length - 2) {
      const code = Number(words[exitAt + 1]);
      this.later(() => this.exit(c.id, Number.isFinite(code) ? code : 1), 1);
    } else if (cfg.init || /^(true|echo)$/.test(words[0] ?? "")) {
      this.later(() => this.exit(c.id, 0), 1);
    }
    return { ...c };
  }

  private later(fn: (v?: unknown) => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private exit(id: string, code: number): void {
    const c = this.containers.get(id);
    if (!c || c.state === "exited") return;
    c.state = "exited";
    c.exitCode = code;
    c.reason = code === 0 ? "Completed" : code === 137 || code === 143 ? "Error" : "Error";
    c.finishedAt = new Date().toISOString();
    for (const cb of this.exitCbs) cb({ id, pod: c.pod });
  }

  async stopContainer(id: string): Promise<void> {
    this.exit(id, 143);
  }
  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
    this.usage.delete(id);
  }
  /** Simulated usage: a steady rate since the container started. */
  async stats(): Promise<ContainerUsage[]> {
    const now = Date.now();
    const out: ContainerUsage[] = [];
    for (const c of this.containers.values()) {
      const u = this.usage.get(c.id);
      if (c.state !== "running" || !u) continue;
      const ranNs = Math.max(0, now - Date.parse(c.startedAt ?? new Date(now).toISOString())) * 1e6;
      out.push({ id: c.id, pod: c.pod, name: c.name, cpuUsageNanos: Math.round((u.cpuNanoCores * ranNs) / 1e9), memoryWorkingSetBytes: u.memoryWorkingSetBytes, at: now });
    }
    return out;
  }
  async removeSandbox(id: string): Promise<void> {
    this.sandboxes.delete(id);
  }
  async exec(): Promise<ExecResult> {
    return { exitCode: 0, output: "" };
  }
  async logs(): Promise<LogStream> {
    return { chunks: (async function* () {})(), cancel() {} };
  }
  onExit(cb: (c: { id: string; pod: PodRef }) => void): void {
    this.exitCbs.push(cb);
  }
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
