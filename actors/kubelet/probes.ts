/**
 * Liveness, readiness and startup probes. `probeStep` is the pure threshold logic; `ProbeWorker`
 * runs one container's probes on timers (exec through the engine, httpGet with fetch, tcpSocket with
 * net.connect) and calls back when a verdict changes, so the pod is re-synced.
 */
import type { Probe, Container } from "../../bus/resources.ts";
import type { Engine } from "./engines/types.ts";
import type { ProbeResults } from "./pod-sync.ts";
import { connect } from "node:net";

export const ProbeKind = { liveness: "liveness", readiness: "readiness", startup: "startup" } as const;
export type ProbeKind = (typeof ProbeKind)[keyof typeof ProbeKind];

export interface ProbeCounter {
  /** Current verdict. Readiness starts false, liveness true, startup false. */
  ok: boolean;
  successes: number;
  failures: number;
}

export function initialCounter(kind: ProbeKind): ProbeCounter {
  return { ok: kind === "liveness", successes: 0, failures: 0 };
}

/** One probe result through the thresholds (pure). */
export function probeStep(c: ProbeCounter, success: boolean, probe: Probe): ProbeCounter {
  const successThreshold = probe.successThreshold ?? 1;
  const failureThreshold = probe.failureThreshold ?? 3;
  if (success) {
    const successes = c.successes + 1;
    return { ok: c.ok || successes >= successThreshold, successes, failures: 0 };
  }
  const failures = c.failures + 1;
  return { ok: c.ok && failures < failureThreshold, successes: 0, failures };
}

export interface ProbeTarget {
  engine: Engine;
  containerId: string;
  /** Where httpGet / tcpSocket connect. */
  host: string;
  /** containerPort (or named port) → port to dial. */
  resolvePort(port: number | string): number;
}

/** Runs one probe once. Resolves to success and a message for Unhealthy events. */
export async function runProbe(p: Probe, t: ProbeTarget): Promise<{ ok: boolean; message: string }> {
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  try {
    if (p.exec?.command) {
      const r = await t.engine.exec(t.containerId, p.exec.command, timeoutMs);
      return { ok: r.exitCode === 0, message: r.exitCode === 0 ? "" : `exec failed with exit code ${r.exitCode}: ${r.output.trim().slice(0, 200)}` };
    }
    if (p.httpGet) {
      const port = t.resolvePort(p.httpGet.port);
      const host = p.httpGet.host ?? t.host;
      const url = `${(p.httpGet.scheme ?? "HTTP").toLowerCase()}://${host}:${port}${p.httpGet.path ?? "/"}`;
      const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
      await res.arrayBuffer().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 400;
      return { ok, message: ok ? "" : `HTTP probe failed with statuscode: ${res.status}` };
    }
    if (p.tcpSocket) {
      const port = t.resolvePort(p.tcpSocket.port);
      const host = p.tcpSocket.host ?? t.host;
      await new Promise<void>((resolve, reject) => {
        const s = connect({ host, port, timeout: timeoutMs });
        s.once("connect", () => (s.destroy(), resolve()));
        s.once("timeout", () => (s.destroy(), reject(new Error(`dial tcp ${host}:${port}: i/o timeout`))));
        s.once("error", (e) => (s.destroy(), reject(e)));
      });
      return { ok: true, message: "" };
    }
    return { ok: true, message: "" };
  } catch (e) {
    return { ok: false, message: `probe error: ${(e as Error).message}` };
  }
}

/**
 * Probes for one running container. Startup gates liveness and readiness; verdict changes call
 * `onChange`, failed probes call `onUnhealthy` (for Unhealthy events).
 */
export class ProbeWorker {
  private counters: Record<ProbeKind, ProbeCounter> = {
    liveness: initialCounter("liveness"),
    readiness: initialCounter("readiness"),
    startup: initialCounter("startup"),
  };
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly spec: Container,
    private readonly target: ProbeTarget,
    private readonly onChange: () => void,
    private readonly onUnhealthy: (kind: ProbeKind, message: string) => void,
  ) {
    for (const kind of ["liveness", "readiness", "startup"] as const) {
      const probe = this.probeOf(kind);
      if (probe) this.schedule(kind, probe, (probe.initialDelaySeconds ?? 0) * 1000);
    }
  }

  results(): ProbeResults {
    const started = !this.spec.startupProbe || this.counters.startup.ok;
    const s = this.counters.startup;
    return {
      started,
      ready: started && (!this.spec.readinessProbe || this.counters.readiness.ok),
      livenessFailed: started && !!this.spec.livenessProbe && !this.counters.liveness.ok,
      startupFailed: !!this.spec.startupProbe && !s.ok && s.failures >= (this.spec.startupProbe.failureThreshold ?? 3),
    };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private probeOf(kind: ProbeKind): Probe | undefined {
    return kind === "liveness" ? this.spec.livenessProbe : kind === "readiness" ? this.spec.readinessProbe : this.spec.startupProbe;
  }

  private schedule(kind: ProbeKind, probe: Probe, delayMs: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== t);
      void this.tick(kind, probe);
    }, delayMs);
    t.unref();
    this.timers.push(t);
  }

  private async tick(kind: ProbeKind, probe: Probe): Promise<void> {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const gated = kind !== "startup" && this.spec.startupProbe && !this.counters.startup.ok;
    const doneStartup = kind === "startup" && this.counters.startup.ok;
    if (!gated && !doneStartup) {
      const r = await runProbe(probe, this.target);
      if (this.stopped) return;
      const before = this.results();
      this.counters[kind] = probeStep(this.counters[kind], r.ok, probe);
      if (!r.ok) this.onUnhealthy(kind, r.message);
      const after = this.results();
      if (before.started !== after.started || before.ready !== after.ready || before.livenessFailed !== after.livenessFailed || before.startupFailed !== after.startupFailed) this.onChange();
    }
    this.schedule(kind, probe, period);
  }
}
