/**
 * Fault containment: an exception that escapes one actor (a throw in a NATS callback or a timer,
 * a promise rejection nobody handles) restarts that actor through its supervisor instead of
 * ending the process or silently deafening its connection.
 *
 * - Every actor runs inside an async scope (`runInActorScope`); callbacks, timers and promises
 *   created under it keep it, so a process-level handler can tell which actor a fault came from.
 * - `containProcessFaults()` installs `uncaughtException` / `unhandledRejection` handlers (once
 *   per process, reference-counted): a fault in an actor's scope is logged and that actor's
 *   `crash` is called; a fault outside any actor is logged, and the process keeps running.
 * - `guardSubscriptions(nc, onError)` wraps NATS subscription callbacks: a synchronous throw in
 *   one would otherwise end the client's reader loop and leave the connection deaf for good.
 *
 * @example
 *   const release = containProcessFaults();
 *   await runInActorScope({ kind: "scheduler", id, crash }, () => def.start(ctx, opts));
 *   release();
 */
import type { NatsConnection, Subscription, SubscriptionOptions } from "@nats-io/transport-node";
import type { Logger } from "./logger.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { createLogger } from "./logger.ts";

export interface ActorScope {
  kind: string;
  id: string;
  /** Reports a fatal error to the actor's supervisor (which stops and restarts it). */
  crash(e: unknown): void;
}

export const FaultOrigin = { uncaughtException: "uncaughtException", unhandledRejection: "unhandledRejection", callback: "callback" } as const;
export type FaultOrigin = (typeof FaultOrigin)[keyof typeof FaultOrigin];

export interface Fault {
  at: number;
  origin: FaultOrigin;
  /** The actor the fault was attributed to (none when it came from outside every actor). */
  actor?: { kind: string; id: string };
  error: string;
}

const scope = new AsyncLocalStorage<ActorScope>();
const MAX_KEPT = 200;
const kept: Fault[] = [];
let total = 0;

/** Runs `fn` (and everything it schedules) as part of an actor. */
export function runInActorScope<T>(s: ActorScope, fn: () => T): T {
  return scope.run(s, fn);
}

/** Runs `fn` (and everything it schedules) as part of no actor: for what several actors share. */
export function outsideActors<T>(fn: () => T): T {
  return scope.exit(fn);
}

/** The actor whose code is running now, if any. */
export function currentActor(): ActorScope | undefined {
  return scope.getStore();
}

/** Faults seen by this process since it started (the last 200) and their total count. */
export function faults(): { total: number; recent: readonly Fault[] } {
  return { total, recent: kept };
}

const describe = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** Records a fault, logs it, and restarts the actor it belongs to. */
export function reportFault(origin: FaultOrigin, e: unknown, s: ActorScope | undefined = currentActor(), log: Logger = createLogger("host")): void {
  total++;
  kept.push({ at: Date.now(), origin, ...(s ? { actor: { kind: s.kind, id: s.id } } : {}), error: describe(e) });
  if (kept.length > MAX_KEPT) kept.shift();
  if (s) {
    log.error("actor fault contained; restarting the actor", { origin, actor: s.kind, id: s.id, error: describe(e) });
    try {
      s.crash(e);
    } catch (err) {
      log.error("restarting the actor failed", { actor: s.kind, id: s.id, error: describe(err) });
    }
  } else {
    log.error("fault outside any actor contained; the process keeps running", { origin, error: describe(e) });
  }
}

let installs = 0;
const onException = (e: unknown) => reportFault(FaultOrigin.uncaughtException, e);
const onRejection = (e: unknown) => reportFault(FaultOrigin.unhandledRejection, e);

/**
 * Installs the process-level handlers (idempotent; each call returns its own release, and the
 * handlers go when the last one is released).
 */
export function containProcessFaults(): () => void {
  if (installs++ === 0) {
    process.on("uncaughtException", onException);
    process.on("unhandledRejection", onRejection);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--installs === 0) {
      process.removeListener("uncaughtException", onException);
      process.removeListener("unhandledRejection", onRejection);
    }
  };
}

/**
 * Makes every callback subscription on `nc` safe: a synchronous throw in the callback is reported
 * (to the scope current when the message arrives) instead of ending the client's reader.
 */
export function guardSubscriptions(nc: NatsConnection, onError: (e: unknown) => void = (e) => reportFault(FaultOrigin.callback, e)): NatsConnection {
  const subscribe = nc.subscribe.bind(nc);
  nc.subscribe = (subject: string, opts?: SubscriptionOptions): Subscription => {
    const cb = opts?.callback;
    if (!cb) return subscribe(subject, opts);
    return subscribe(subject, {
      ...opts,
      callback: (err, m) => {
        try {
          cb(err, m);
        } catch (e) {
          onError(e);
        }
      },
    });
  };
  return nc;
}
