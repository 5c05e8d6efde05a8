/**
 * The faults a chaos run injects, first each kind in turn, then (full runs) at random from a seed.
 * Pure: which fault, against what, and how long; cluster.ts does them.
 */
import type { Rng } from "./rng.ts";

export const FAULT_KINDS = [
  "kill-stream-leader", // SIGKILL every process of the server leading the main bucket (store replica + JetStream leader)
  "kill-nats", // SIGKILL a server's nats-server only
  "kill-controller-leader", // SIGKILL the server whose replica of a controller leads
  "kill-client-api", // SIGKILL the server whose api-server the writers use most
  "kill-worker", // SIGKILL a worker (kubelet + proxy)
  "freeze-server", // SIGSTOP a server, SIGCONT later
  "partition-server", // drop every packet between one server's address and the others', then heal
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults the issue names that this run cannot do, and why (reported, not silently dropped). */
export const NOT_RUN: Record<string, string> = {
  "restart-dockerd": "the workers run the process engine, so no Docker engine is in use",
};

export interface Fault {
  kind: FaultKind;
  /** For kill-controller-leader: which actor's leader. */
  actor?: string;
  /** For freeze-server: how long it stays stopped; for partition-server: how long it is cut off. */
  holdMs?: number;
}

export interface ScheduleOptions {
  quick: boolean;
  /** Random faults after the in-turn ones (full runs). */
  random: number;
}

const CONTROLLERS = ["scheduler", "replication-controller", "deployment-controller", "endpoints-controller", "node-controller"] as const;

export function schedule(r: Rng, o: ScheduleOptions): Fault[] {
  const freeze = o.quick ? 8_000 : 20_000;
  const inTurn: Fault[] = o.quick
    ? [{ kind: "kill-stream-leader" }, { kind: "kill-worker" }, { kind: "kill-nats" }, { kind: "freeze-server", holdMs: freeze }, { kind: "partition-server", holdMs: freeze }]
    : [
        { kind: "kill-stream-leader" },
        { kind: "kill-nats" },
        ...CONTROLLERS.map((actor): Fault => ({ kind: "kill-controller-leader", actor })),
        { kind: "kill-client-api" },
        { kind: "kill-worker" },
        { kind: "freeze-server", holdMs: freeze },
        { kind: "partition-server", holdMs: freeze },
      ];
  const random = Array.from({ length: o.quick ? 0 : o.random }, (): Fault => {
    const kind = r.pick(FAULT_KINDS);
    return { kind, ...(kind === "kill-controller-leader" ? { actor: r.pick(CONTROLLERS) } : {}), ...(kind === "freeze-server" || kind === "partition-server" ? { holdMs: freeze } : {}) };
  });
  return [...inTurn, ...random];
}

export function describeFault(f: Fault): string {
  return f.kind + (f.actor ? `(${f.actor})` : "") + (f.holdMs ? ` for ${f.holdMs / 1000} s` : "");
}
