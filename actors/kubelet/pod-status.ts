/**
 * The status a pod should show (pure): phase, conditions, container statuses, IPs and start time,
 * computed from the same input as `decideSync`. Transition times are kept when a condition does
 * not change, so writing the result is idempotent.
 */
import type { Pod, PodStatus, PodCondition, ContainerStatus, ContainerState, Container, PodPhase } from "../../bus/resources.ts";
import type { EngineContainer } from "./engines/types.ts";
import type { SyncInput } from "./pod-sync.ts";
import { attemptsByName, initDone, shouldRestart, restartAt, isTerminalPhase, retryAt, activeDeadlineAt, DEADLINE_MESSAGE } from "./pod-sync.ts";
import { rfc3339 } from "../../bus/time.ts";

export interface StatusContext {
  hostIP: string;
  engineName: string;
  /** Container id → termination message (termination-message.ts); absent or empty: none. */
  messages?: ReadonlyMap<string, string>;
}

/** Engines report times with ms precision (back-off needs it); status shows seconds, as Kubernetes does. */
const sec = (t: string | undefined) => (t ? rfc3339(Date.parse(t)) : undefined);

function terminated(c: EngineContainer, ctx: StatusContext): ContainerState {
  const engine = ctx.engineName;
  const message = ctx.messages?.get(c.id);
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      reason: c.reason ?? (c.exitCode === 0 ? "Completed" : "Error"),
      ...(message ? { message } : {}),
      startedAt: sec(c.startedAt),
      finishedAt: sec(c.finishedAt),
      containerID: `${engine}://${c.id}`,
    },
  };
}

function containerStatus(input: SyncInput, ctx: StatusContext, spec: Container, attempts: EngineContainer[] | undefined, initPending: boolean): ContainerStatus {
  const latest = attempts?.[0];
  const previous = attempts?.[1];
  const w = input.waiting[spec.name];
  const base = { name: spec.name, image: spec.image ?? "", imageID: latest?.imageID ?? "", restartCount: latest?.attempt ?? 0 };
  if (!latest) {
    const reason = w ? (w.reason === "ErrImagePull" && retryAt(w, input.backoff) > input.now && w.failures > 1 ? "ImagePullBackOff" : w.reason) : initPending ? "PodInitializing" : "ContainerCreating";
    const waiting = w ? { reason, message: w.message } : { reason };
    return { ...base, state: { waiting }, ready: false, started: false };
  }
  const lastState = previous ? terminated(previous, ctx) : {};
  const containerID = `${ctx.engineName}://${latest.id}`;
  if (latest.state === "running") {
    const p = input.probes[latest.id];
    const started = p ? p.started : !spec.startupProbe;
    const ready = started && (p ? p.ready : !spec.readinessProbe);
    return { ...base, containerID, state: { running: { startedAt: sec(latest.startedAt) } }, lastState, ready, started };
  }
  if (latest.state === "created") {
    return { ...base, containerID, state: { waiting: { reason: "ContainerCreating" } }, lastState, ready: false, started: false };
  }
  if (!isTerminalPhase(input.pod) && !input.pod.metadata.deletionTimestamp && shouldRestart(input.pod, latest)) {
    const delaying = restartAt(latest, input.backoff) > input.now;
    const reason = w ? w.reason : delaying ? "CrashLoopBackOff" : "ContainerCreating";
    const message = w ? w.message : delaying ? `back-off restarting failed container=${spec.name} pod=${input.pod.metadata.name}_${input.pod.metadata.namespace}(${input.pod.metadata.uid})` : undefined;
    return { ...base, containerID, state: { waiting: message ? { reason, message } : { reason } }, lastState: terminated(latest, ctx), ready: false, started: false };
  }
  return { ...base, containerID, state: terminated(latest, ctx), lastState, ready: false, started: false };
}

function condition(prev: PodCondition[] | undefined, type: string, ok: boolean, now: string, reason?: string, message?: string): PodCondition {
  const status = ok ? "True" : "False";
  const old = prev?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastProbeTime: null, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

export function computePhase(pod: Pod, byName: Map<string, EngineContainer[]>, initFailed: boolean): PodPhase {
  if (isTerminalPhase(pod)) return pod.status!.phase!;
  if (initFailed) return "Failed";
  const latest = pod.spec.containers.map((c) => byName.get(c.name)?.[0]);
  if (latest.some((c) => !c)) return "Pending";
  const all = latest as EngineContainer[];
  if (all.some((c) => c.state !== "exited" || shouldRestart(pod, c))) return all.some((c) => c.state === "running" || c.attempt > 0 || c.state === "exited") ? "Running" : "Pending";
  return all.every((c) => c.exitCode === 0) ? "Succeeded" : "Failed";
}

export function computeStatus(input: SyncInput, ctx: StatusContext): PodStatus {
  const { pod, sandbox, containers, now } = input;
  const nowStr = rfc3339(now);
  const byName = attemptsByName(containers);
  const initialized = initDone(pod, byName);
  const initFailed = (pod.spec.initContainers ?? []).some((ic) => {
    const l = byName.get(ic.name)?.[0];
    return !!l && l.state === "exited" && l.exitCode !== 0 && (pod.spec.restartPolicy ?? "Always") === "Never";
  });
  const deadline = activeDeadlineAt(pod);
  const deadlineExceeded = !isTerminalPhase(pod) && deadline !== undefined && now >= deadline;
  const phase = deadlineExceeded ? "Failed" : computePhase(pod, byName, initFailed);
  const statuses = pod.spec.containers.map((c) => containerStatus(input, ctx, c, byName.get(c.name), !initialized));
  const initStatuses = (pod.spec.initContainers ?? []).map((c) => {
    const s = containerStatus(input, ctx, c, byName.get(c.name), false);
    return { ...s, ready: s.state?.terminated?.exitCode === 0 };
  });
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === "Succeeded" || phase === "Failed";
  const prev = pod.status?.conditions;
  const notReadyReason = completed ? "PodCompleted" : "ContainersNotReady";
  const notReadyMsg = completed ? undefined : `containers with unready status: [${unready.join(" ")}]`;
  const scheduled = prev?.find((c) => c.type === "PodScheduled") ?? { type: "PodScheduled", status: "True" as const, lastProbeTime: null, lastTransitionTime: nowStr };
  const conditions: PodCondition[] = [
    condition(prev, "Initialized", initialized, nowStr, "ContainersNotInitialized", initialized ? undefined : "containers with incomplete status: [" + (pod.spec.initContainers ?? []).filter((ic) => byName.get(ic.name)?.[0]?.exitCode !== 0).map((ic) => ic.name).join(" ") + "]"),
    condition(prev, "Ready", unready.length === 0 && !completed, nowStr, notReadyReason, notReadyMsg),
    condition(prev, "ContainersReady", unready.length === 0 && !completed, nowStr, notReadyReason, notReadyMsg),
    scheduled,
  ];
  const status: PodStatus = {
    ...(pod.status ?? {}),
    phase,
    conditions,
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    startTime: pod.status?.startTime ?? nowStr,
    containerStatuses: statuses,
  };
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  // A hostNetwork pod's address is its node's (Kubernetes: podIP = hostIP).
  const podIP = sandbox && pod.spec.hostNetwork ? ctx.hostIP : sandbox?.ip;
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  if (phase === "Failed" && initFailed) status.reason = "InitContainerFailed";
  if (deadlineExceeded) {
    status.reason = "DeadlineExceeded";
    status.message = DEADLINE_MESSAGE;
  }
  return status;
}
