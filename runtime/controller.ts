/**
 * The one way a controller runs (client-go's informers + work queue around a pure reconcile):
 *
 *   informers ──handlers only enqueue keys──▶ WorkQueue ──key──▶ view(key) ──▶ reconcile(key, view, now)
 *                                                                                   │ commands
 *                                                                                   ▼
 *                                           execute(command): one match(…).exhaustive(), writes with CAS
 *
 * - **Sync gate**: no key is reconciled before every informer the controller declares has its
 *   first list (a half-filled cache looks like missing objects and makes wrong writes).
 * - **Pure decisions**: `reconcile` gets the key, a read-only view and the time; it returns
 *   commands and, optionally, when to look again. Handling a key twice is harmless.
 * - **Errors are classified** (`classify`): a retryable failure (Conflict, Unavailable, Timeout,
 *   TooManyRequests, or anything that is not a store error) ends the pass and the key backs off on
 *   the queue. A terminal one (Invalid, Forbidden, NotFound, …) becomes one Warning Event on the
 *   key's object, the pass goes on without it, and that command is not tried again until the
 *   object changes (its generation, or its resourceVersion when it has none).
 * - **Events** go through the one recorder (runtime/events.ts), which counts repeats.
 *
 * docs/architecture.md ("How to write a controller") walks through a complete one.
 */
import type { KubeObject, ObjectReference } from "../bus/resources.ts";
import type { StoreClient } from "../bus/store-client.ts";
import type { Actor } from "./actor.ts";
import type { Logger } from "./logger.ts";
import type { Source } from "./informer.ts";
import { ErrorCode, FlotillaError } from "../bus/errors.ts";
import { WorkQueue } from "./workqueue.ts";
import { EventRecorder } from "./events.ts";

/** What one pass decided: commands to execute in order, and when to look at the key again. */
export interface Decision<C> {
  commands: C[];
  requeueAfterMs?: number;
}

/** What an executor gets besides the command: the key, the view as of the last write, the Event recorder. */
export interface Pass<V> {
  key: string;
  view: V;
  events: EventRecorder;
}

/** What an executor may hand back: the view after its write (for the next command's CAS), a time to look again. */
export interface Executed<V> {
  view?: V;
  requeueAfterMs?: number;
}

/** Keys an informer event enqueues (falsy entries are skipped). */
export type Keys = string | undefined | null | false | Iterable<string | undefined>;

/** Which keys each event of one informer enqueues. Handlers may note what they saw; they never write. */
export interface Watch<T extends KubeObject = KubeObject> {
  source: Source<T>;
  add?(o: T): Keys;
  update?(old: T, cur: T): Keys;
  delete?(o: T): Keys;
}
/** A Watch with its object type inferred from the informer. */
export function on<T extends KubeObject>(source: Source<T>, h: Omit<Watch<T>, "source">): Watch {
  return { source, ...h } as unknown as Watch;
}

export interface ControllerDefinition<V, C extends { type: string }> {
  /** The component named on Events (`source.component`), e.g. "replicaset-controller". */
  component: string;
  /** Every informer the controller reads; the sync gate waits for all of them. */
  informers: Source[];
  /** Which keys informer events enqueue. */
  watches: Watch[];
  /** Reads what reconcile needs for a key (from the informers' caches; async only where it must list). */
  view(key: string): V | Promise<V>;
  /** The object the key names (Events are about it; a terminal failure holds until it changes). */
  objectOf(view: V): KubeObject | undefined;
  reconcile(key: string, view: V, now: number): Decision<C>;
  /** Does one command. Write it as `match(command).with(…).exhaustive()`. */
  execute(command: C, pass: Pass<V>): Promise<Executed<V> | void>;
  /** The Event a terminal failure becomes (default, or undefined: reason `Failed<Verb>` from the tag, the error's message). */
  failed?(command: C, e: FlotillaError): { reason: string; message: string } | undefined;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Releases anything else the controller holds (after the informers and the queue stop). */
  stop?(): Promise<void> | void;
}

export interface ControllerDeps {
  store: Pick<StoreClient, "create" | "patch">;
  log: Logger;
  now: () => number;
  host?: string;
}

export interface Controller extends Actor {
  readonly queue: WorkQueue;
  readonly events: EventRecorder;
  /** Enqueues a key (for signals that do not come from an informer). */
  enqueue(key: string, afterMs?: number): void;
}

export const Outcome = { Retry: "retry", Terminal: "terminal" } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

const MAX_HELD = 10_000;

/** Codes that no retry of the same write can fix. Every other code is retried with back-off. */
const TERMINAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.Invalid,
  ErrorCode.BadRequest,
  ErrorCode.Forbidden,
  ErrorCode.Unauthorized,
  ErrorCode.NotFound,
  ErrorCode.RequestEntityTooLarge,
  ErrorCode.UnsupportedMediaType,
  ErrorCode.MethodNotAllowed,
]);

export function classify(e: unknown): Outcome {
  if (!(e instanceof FlotillaError) || e.retryable) return Outcome.Retry;
  return TERMINAL.has(e.code) ? Outcome.Terminal : Outcome.Retry;
}

/** `pods.create` → `FailedCreate`, `object.drop-owner-refs` → `FailedDropOwnerRefs`. */
export function failedReason(tag: string): string {
  const verb = tag.slice(tag.lastIndexOf(".") + 1);
  return `Failed${verb.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("")}`;
}

export function referenceTo(o: KubeObject): ObjectReference {
  return { kind: o.kind, apiVersion: o.apiVersion, namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid };
}

/** "Changed" for a terminal hold: a new generation (spec edits), or a new resourceVersion without one. */
function versionOf(o: KubeObject | undefined): string | undefined {
  if (!o) return undefined;
  return `${o.metadata.uid ?? ""}/${o.metadata.generation !== undefined ? `g${o.metadata.generation}` : `r${o.metadata.resourceVersion ?? ""}`}`;
}

function* keysOf(k: Keys): Iterable<string> {
  if (!k) return;
  if (typeof k === "string") yield k;
  else for (const x of k) if (x) yield x;
}

/** Starts a controller: handlers, informers, the sync gate, then the queue works. */
export async function startController<V, C extends { type: string }>(deps: ControllerDeps, def: ControllerDefinition<V, C>): Promise<Controller> {
  const log = deps.log;
  const events = new EventRecorder({ store: deps.store, source: { component: def.component, host: deps.host }, now: deps.now, log });
  /** Key → the object version a terminal failure happened at, and the command tags held since. */
  const held = new Map<string, { version: string | undefined; tags: Set<string> }>();
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));

  const pass = async (key: string): Promise<void> => {
    await gate;
    let view = (await def.view(key)) as V;
    const object = def.objectOf(view);
    const version = versionOf(object);
    let hold = held.get(key);
    if (hold && hold.version !== version) {
      held.delete(key);
      hold = undefined;
    }
    const decision = def.reconcile(key, view, deps.now());
    let requeue = decision.requeueAfterMs;
    for (const c of decision.commands) {
      if (hold?.tags.has(c.type)) continue;
      try {
        const r = await def.execute(c, { key, view, events });
        if (r?.view !== undefined) view = r.view;
        if (r?.requeueAfterMs !== undefined) requeue = Math.min(requeue ?? Infinity, r.requeueAfterMs);
      } catch (e) {
        if (classify(e) === Outcome.Retry) throw e;
        const err = e as FlotillaError;
        log.warn("command failed; not retried until the object changes", { key, command: c.type, code: err.code, error: err.message });
        if (!object) continue;
        if (!hold) held.set(key, (hold = { version, tags: new Set() }));
        // A held key whose object is deleted may never come back: keep the map bounded.
        if (held.size > MAX_HELD) held.delete(held.keys().next().value!);
        hold.tags.add(c.type);
        const ev = def.failed?.(c, err) ?? { reason: failedReason(c.type), message: err.message };
        events.record(referenceTo(object), "Warning", ev.reason, ev.message);
      }
    }
    if (requeue !== undefined) queue.addAfter(key, requeue);
  };
  const queue = new WorkQueue(pass, { log, concurrency: def.concurrency ?? 4, baseDelayMs: def.baseDelayMs ?? 50, maxDelayMs: def.maxDelayMs ?? 5000 });

  for (const w of def.watches) {
    w.source.addHandlers({
      add: w.add && ((o) => enqueue(w.add!(o))),
      update: w.update && ((old, cur) => enqueue(w.update!(old, cur))),
      delete: w.delete && ((o) => enqueue(w.delete!(o))),
    });
  }
  function enqueue(k: Keys): void {
    for (const key of keysOf(k)) queue.add(key);
  }

  const sources = [...new Set<Source>([...def.informers, ...def.watches.map((w) => w.source)])];
  const stopAll = async () => {
    for (const s of sources) s.stop();
    await queue.shutdown();
    await events.stop();
    await def.stop?.();
  };
  try {
    await Promise.all(sources.map((s) => s.start()));
  } catch (e) {
    await stopAll();
    throw e;
  }
  openGate();
  log.info("controller synced", { component: def.component, informers: sources.length });

  return {
    queue,
    events,
    enqueue: (key, afterMs) => (afterMs ? queue.addAfter(key, afterMs) : queue.add(key)),
    stop: stopAll,
  };
}

/** Awaits a write, counting the given codes as done (NotFound for a delete: it is gone already). */
export async function tolerate(write: Promise<unknown>, ...codes: ErrorCode[]): Promise<void> {
  try {
    await write;
  } catch (e) {
    if (!(e instanceof FlotillaError) || !codes.includes(e.code)) throw e;
  }
}
