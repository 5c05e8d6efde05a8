/**
 * The kubelet's per-pod decision (pure, no await, clock passed in): from the pod spec and what the
 * engine reports, decide what to start, kill and remove, and return the action list. The status
 * the pod should show is computed by `pod-status.ts` from the same input.
 *
 *   pod spec + engine containers + probe results + waiting errors + now
 *        └── decideSync ──▶ { actions, events, requeueAfterMs }
 */
import type { Pod, Container } from "../../bus/resources.ts";
import type { EngineContainer, SandboxInfo } from "./engines/types.ts";
import type { BackoffConfig } from "./backoff.ts";
import { restartDelayMs, retryDelayMs } from "./backoff.ts";

/** Probe verdicts for one running container (keyed by engine container id). */
export interface ProbeResults {
  started: boolean;
  ready: boolean;
  livenessFailed: boolean;
  /** The startup probe failed failureThreshold times in a row: the container is restarted. */
  startupFailed?: boolean;
}

/** Why the last attempt to start a container failed before it ran (pull / config / start error). */
export interface WaitingError {
  reason: string;
  message: string;
  failures: number;
  lastAt: number;
}

export interface SyncInput {
  pod: Pod;
  sandbox?: SandboxInfo;
  containers: readonly EngineContainer[];
  probes: Readonly<Record<string, ProbeResults>>;
  waiting: Readonly<Record<string, WaitingError>>;
  now: number;
  backoff: BackoffConfig;
}

export type SyncAction =
  | { type: "createSandbox" }
  | { type: "start"; container: string; init: boolean; attempt: number }
  | { type: "kill"; id: string; container: string; graceSeconds: number; reason: "Unhealthy" | "Deleting" | "SandboxLost" | "DeadlineExceeded"; probe?: "liveness" | "startup" }
  | { type: "removeContainer"; id: string }
  | { type: "removeSandbox"; id: string }
  | { type: "finalize" };

export interface SyncEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /** De-duplication key: the wiring emits an event once per key. */
  key: string;
}

export interface SyncPlan {
  actions: SyncAction[];
  events: SyncEvent[];
  requeueAfterMs?: number;
}

/** Per container name: its attempts, newest first. */
export function attemptsByName(containers: readonly EngineContainer[]): Map<string, EngineContainer[]> {
  const m = new Map<string, EngineContainer[]>();
  for (const c of containers) {
    const list = m.get(c.name) ?? [];
    list.push(c);
    m.set(c.name, list);
  }
  for (const list of m.values()) list.sort((a, b) => b.attempt - a.attempt);
  return m;
}

/** When `activeDeadlineSeconds` runs out (ms since epoch), counted from the pod's startTime; undefined without one. */
export function activeDeadlineAt(pod: Pod): number | undefined {
  const ads = pod.spec.activeDeadlineSeconds;
  const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  return ads === undefined || Number.isNaN(start) ? undefined : start + ads * 1000;
}

export const DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline";

export function isTerminalPhase(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

export function gracePeriodSeconds(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
}

/** Whether an exited container of this pod will be started again. */
export function shouldRestart(pod: Pod, c: EngineContainer): boolean {
  if (c.init) return c.exitCode !== 0 && (pod.spec.restartPolicy ?? "Always") !== "Never";
  const policy = pod.spec.restartPolicy ?? "Always";
  return policy === "Always" || (policy === "OnFailure" && c.exitCode !== 0);
}

/** When an exited container may be restarted (ms since epoch). A long run resets the back-off. */
export function restartAt(c: EngineContainer, cfg: BackoffConfig): number {
  const finished = c.finishedAt ? Date.parse(c.finishedAt) : 0;
  const started = c.startedAt ? Date.parse(c.startedAt) : finished;
  const ranLong = finished - started > 2 * cfg.maxMs;
  return finished + (ranLong ? 0 : restartDelayMs(c.attempt, cfg));
}

/** A waiting error still inside its retry back-off → the time it may be retried. */
export function retryAt(w: WaitingError | undefined, cfg: BackoffConfig): number {
  return w ? w.lastAt + retryDelayMs(w.failures, cfg) : 0;
}

/** The init containers are all done (exited 0), or regular containers already ran (re-adoption). */
export function initDone(pod: Pod, byName: Map<string, EngineContainer[]>): boolean {
  if (pod.spec.containers.some((c) => byName.has(c.name))) return true;
  return (pod.spec.initContainers ?? []).every((ic) => byName.get(ic.name)?.[0]?.exitCode === 0);
}

const podId = (pod: Pod) => `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;

export function decideSync(input: SyncInput): SyncPlan {
  const { pod, sandbox, containers, now } = input;
  const actions: SyncAction[] = [];
  const events: SyncEvent[] = [];
  const byName = attemptsByName(containers);
  const running = containers.filter((c) => c.state !== "exited");
  let requeue: number | undefined;
  const wakeAt = (t: number) => {
    const d = Math.max(1, t - now);
    requeue = requeue === undefined ? d : Math.min(requeue, d);
  };

  // Deleting: stop everything gracefully, remove it, then finalize the pod object.
  if (pod.metadata.deletionTimestamp) {
    const grace = gracePeriodSeconds(pod);
    for (const c of running) actions.push({ type: "kill", id: c.id, container: c.name, graceSeconds: grace, reason: "Deleting" });
    for (const c of containers) actions.push({ type: "removeContainer", id: c.id });
    if (sandbox) actions.push({ type: "removeSandbox", id: sandbox.id });
    actions.push({ type: "finalize" });
    return { actions, events };
  }

  // Garbage: keep the newest two attempts of each container (the previous one serves `previous` logs).
  for (const list of byName.values()) for (const old of list.slice(2)) actions.push({ type: "removeContainer", id: old.id });

  if (isTerminalPhase(pod)) {
    for (const c of running) actions.push({ type: "kill", id: c.id, container: c.name, graceSeconds: gracePeriodSeconds(pod), reason: "Deleting" });
    return { actions, events };
  }

  // activeDeadlineSeconds: past it, every container stops and the pod fails (pod-status.ts).
  const deadline = activeDeadlineAt(pod);
  if (deadline !== undefined && now >= deadline) {
    events.push({ type: "Warning", reason: "DeadlineExceeded", message: DEADLINE_MESSAGE, key: "DeadlineExceeded" });
    for (const c of running) actions.push({ type: "kill", id: c.id, container: c.name, graceSeconds: gracePeriodSeconds(pod), reason: "DeadlineExceeded" });
    return { actions, events };
  }
  if (deadline !== undefined) wakeAt(deadline);

  // The sandbox owns the pod's network: without it, every container goes and the pod starts over.
  if (!sandbox) {
    for (const c of running) actions.push({ type: "kill", id: c.id, container: c.name, graceSeconds: 0, reason: "SandboxLost" });
    actions.push({ type: "createSandbox" });
  }

  // Init containers, in order, one at a time.
  if (!initDone(pod, byName)) {
    for (const ic of pod.spec.initContainers ?? []) {
      const latest = byName.get(ic.name)?.[0];
      if (latest?.exitCode === 0) continue;
      decideContainer(input, ic, latest, true, actions, events, wakeAt);
      break;
    }
    return { actions, events, requeueAfterMs: requeue };
  }

  for (const c of pod.spec.containers) decideContainer(input, c, byName.get(c.name)?.[0], false, actions, events, wakeAt);
  return { actions, events, requeueAfterMs: requeue };
}

function decideContainer(
  input: SyncInput,
  spec: Container,
  latest: EngineContainer | undefined,
  init: boolean,
  actions: SyncAction[],
  events: SyncEvent[],
  wakeAt: (t: number) => void,
): void {
  const { pod, now, backoff } = input;
  if (!latest) {
    const w = input.waiting[spec.name];
    const at = retryAt(w, backoff);
    if (at > now) {
      wakeAt(at);
      if (w && w.reason === "ErrImagePull") {
        events.push({ type: "Normal", reason: "BackOff", message: `Back-off pulling image "${spec.image ?? ""}"`, key: `BackOff:pull:${spec.name}:${w.failures}` });
      }
      return;
    }
    actions.push({ type: "start", container: spec.name, init, attempt: 0 });
    return;
  }
  if (latest.state !== "exited") {
    const p = input.probes[latest.id];
    if (p?.livenessFailed || p?.startupFailed) {
      actions.push({ type: "kill", id: latest.id, container: spec.name, graceSeconds: gracePeriodSeconds(pod), reason: "Unhealthy", probe: p.startupFailed ? "startup" : "liveness" });
    }
    return;
  }
  if (!shouldRestart(pod, latest)) return;
  const w = input.waiting[spec.name];
  const at = Math.max(restartAt(latest, backoff), retryAt(w, backoff));
  if (at > now) {
    wakeAt(at);
    events.push({
      type: "Warning",
      reason: "BackOff",
      message: `Back-off restarting failed container ${spec.name} in pod ${podId(pod)}`,
      key: `BackOff:${spec.name}:${latest.attempt}`,
    });
    return;
  }
  actions.push({ type: "start", container: spec.name, init, attempt: latest.attempt + 1 });
}
