/**
 * Kubernetes Event objects: the one builder and the one recorder every actor uses (kubelet,
 * scheduler, controllers, node controller). Recording never blocks the work it describes: calls
 * only enqueue, a few background writers drain a bounded queue (full → dropped, like
 * client-go's broadcaster), and the recorder correlates as client-go's EventCorrelator does:
 *
 * - the same event again (same object, type, reason, message, source) is not written twice: the
 *   one already written gets `count + 1` and a new `lastTimestamp` (a repeat still waiting to be
 *   written only bumps the waiting one);
 * - more than `maxSimilar` events of one object, type and reason with different messages within
 *   `similarWindowMs` are combined into one event, "(combined from similar events): <latest>".
 *
 * @example
 *   const events = new EventRecorder({ store, source: { component: "replicaset-controller" } });
 *   events.record(podRef, "Normal", "SuccessfulCreate", "Created pod: web-x2k9z");
 *   await events.stop(); // drains what is pending (bounded wait)
 */
import type { Event, ObjectReference, Pod } from "../bus/resources.ts";
import type { StoreClient } from "../bus/store-client.ts";
import type { Logger } from "./logger.ts";
import { randomBytes } from "node:crypto";
import { rfc3339 as iso } from "../bus/time.ts";

export interface EventSource {
  component: string;
  /** The reporting instance (node name for a kubelet, host for the control plane). */
  host?: string;
}

export type EventType = "Normal" | "Warning";

export interface EventInit {
  involved: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  source: EventSource;
  first?: Date;
  last?: Date;
  count?: number;
  name?: string;
}

/** `<involved name>.<16 hex>` like Kubernetes' event names. */
function eventName(involvedName: string): string {
  return `${involvedName}.${randomBytes(8).toString("hex")}`;
}

/** One Event object as Kubernetes writes it (the recorder uses this; specs build fixtures with it). */
export function buildEvent(e: EventInit, now: Date = new Date()): Event {
  const ns = e.involved.namespace || "default";
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: e.name ?? eventName(e.involved.name ?? "object"), namespace: ns },
    involvedObject: e.involved,
    reason: e.reason,
    message: e.message,
    type: e.type,
    source: e.source.host ? { component: e.source.component, host: e.source.host } : { component: e.source.component },
    reportingComponent: e.source.component,
    reportingInstance: e.source.host ?? e.source.component,
    firstTimestamp: iso(e.first ?? now),
    lastTimestamp: iso(e.last ?? now),
    eventTime: null,
    count: e.count ?? 1,
  };
}

/**
 * A bound pod's `Scheduled` Event, as kube-scheduler writes it: "Successfully assigned <ns>/<name>
 * to <node>". The store writes it with the bind it describes when the scheduler asks it to
 * (`bindAll` with `scheduledEvents`, actors/scheduler/binder.ts).
 */
export function scheduledEvent(pod: Pod, node: string, source: EventSource, now: Date): Event {
  const { namespace, name } = pod.metadata;
  return buildEvent({ involved: podReference(pod), type: "Normal", reason: "Scheduled", message: `Successfully assigned ${namespace}/${name} to ${node}`, source }, now);
}

/** The reference an Event about a pod names it by. */
export function podReference(pod: Pod): ObjectReference {
  const { namespace, name, uid, resourceVersion } = pod.metadata;
  return { kind: "Pod", namespace, name, uid, apiVersion: "v1", resourceVersion };
}

export const COMBINED_PREFIX = "(combined from similar events): ";

/** Which event a new one counts as (client-go's EventAggregator): the key and the message to write. */
class EventCorrelator {
  private readonly similar = new Map<string, { messages: Set<string>; at: number }>();
  constructor(private readonly o: { maxSimilar: number; windowMs: number; cacheSize: number }) {}

  correlate(e: { involved: ObjectReference; type: EventType; reason: string; message: string; source: EventSource }, now: number): { key: string; message: string } {
    const i = e.involved;
    const group = JSON.stringify([e.source.component, e.source.host ?? "", i.kind, i.namespace ?? "", i.name ?? "", i.uid ?? "", i.apiVersion ?? "", e.type, e.reason]);
    let rec = this.similar.get(group);
    if (!rec || now - rec.at > this.o.windowMs) rec = { messages: new Set(), at: now };
    this.similar.delete(group); // re-insert: the map's order is least recently used first
    this.similar.set(group, rec);
    if (this.similar.size > this.o.cacheSize) this.similar.delete(this.similar.keys().next().value!);
    rec.at = now;
    if (rec.messages.has(e.message) || rec.messages.size < this.o.maxSimilar) {
      rec.messages.add(e.message);
      return { key: `${group}|${e.message}`, message: e.message };
    }
    return { key: group, message: `${COMBINED_PREFIX}${e.message}` };
  }
}

export interface EventRecorderOptions {
  store: Pick<StoreClient, "create" | "patch">;
  source: EventSource;
  now?: () => number;
  log?: Logger;
  /** Events waiting to be written; more are dropped (default 1000). */
  maxPending?: number;
  /** Writes in flight (default 4). */
  concurrency?: number;
  /** Distinct messages of one object/type/reason before they are combined (default 10). */
  maxSimilar?: number;
  similarWindowMs?: number;
  /** Events remembered for counting repeats (default 4096). */
  cacheSize?: number;
}

interface Pending {
  involved: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  first: number;
  last: number;
}

export class EventRecorder {
  private readonly pending = new Map<string, Pending>();
  /** key → the Event already written (name, count), least recently used first. */
  private readonly written = new Map<string, { name: string; namespace: string; count: number }>();
  private readonly correlator: EventCorrelator;
  private readonly now: () => number;
  private readonly inflight = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  dropped = 0;

  constructor(private readonly o: EventRecorderOptions) {
    this.now = o.now ?? Date.now;
    this.correlator = new EventCorrelator({ maxSimilar: o.maxSimilar ?? 10, windowMs: o.similarWindowMs ?? 10 * 60_000, cacheSize: o.cacheSize ?? 4096 });
  }

  record(involved: ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.stopped) return;
    const now = this.now();
    const c = this.correlator.correlate({ involved, type, reason, message, source: this.o.source }, now);
    const prev = this.pending.get(c.key);
    if (prev) {
      prev.count++;
      prev.last = now;
      prev.message = c.message;
      prev.involved = involved;
      return;
    }
    if (this.pending.size >= (this.o.maxPending ?? 1000)) {
      this.dropped++;
      return;
    }
    this.pending.set(c.key, { involved, type, reason, message: c.message, count: 1, first: now, last: now });
    this.pump();
  }

  /** Resolves when nothing is waiting or being written. */
  flush(): Promise<void> {
    if (this.inflight.size === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops accepting events and waits (up to timeoutMs) for the pending ones. */
  async stop(timeoutMs = 2000): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
    this.stopped = true;
  }

  private pump(): void {
    for (const [key, p] of this.pending) {
      if (this.inflight.size >= (this.o.concurrency ?? 4)) break;
      // One write per event at a time: a repeat waits for the write that will give it a name.
      if (this.inflight.has(key)) continue;
      this.pending.delete(key);
      this.inflight.add(key);
      void this.write(key, p)
        .catch((e: Error) => this.o.log?.debug("event not recorded", { reason: p.reason, error: e.message }))
        .finally(() => {
          this.inflight.delete(key);
          this.pump();
          if (this.inflight.size === 0 && this.pending.size === 0) for (const r of this.idleWaiters.splice(0)) r();
        });
    }
  }

  private async write(key: string, p: Pending): Promise<void> {
    const prior = this.written.get(key);
    if (prior) {
      this.written.delete(key);
      try {
        const count = prior.count + p.count;
        await this.o.store.patch("events", prior.namespace, prior.name, "merge", { count, message: p.message, lastTimestamp: iso(p.last) });
        this.remember(key, { ...prior, count });
        return;
      } catch {
        // Expired from its bucket or deleted: write a new one.
      }
    }
    const ev = buildEvent({ involved: p.involved, type: p.type, reason: p.reason, message: p.message, source: this.o.source, first: new Date(p.first), last: new Date(p.last), count: p.count });
    await this.o.store.create("events", ev.metadata.namespace, ev);
    this.remember(key, { name: ev.metadata.name!, namespace: ev.metadata.namespace!, count: p.count });
  }

  private remember(key: string, w: { name: string; namespace: string; count: number }): void {
    this.written.set(key, w);
    if (this.written.size > (this.o.cacheSize ?? 4096)) this.written.delete(this.written.keys().next().value!);
  }
}
