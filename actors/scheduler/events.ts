/**
 * Event and status writes, kept off the scheduling hot path: calls only enqueue; a couple of
 * background writers drain the queue. The queue is bounded (like client-go's event broadcaster,
 * which drops events when its channel is full) and aggregated: a repeat of the same reason for the
 * same pod while one is pending replaces it and bumps its count; a repeat after one was written
 * patches that Event's count, message and lastTimestamp instead of creating another.
 *
 * @example
 *   const rec = new EventRecorder({ store, component: "default-scheduler", instance: id, now: Date.now, log });
 *   rec.scheduled(pod, "node-1");          // Event Scheduled "Successfully assigned default/p to node-1"
 *   await rec.stop();                      // drains what is pending (bounded wait)
 */
import type { StoreClient } from "../../bus/store-client.ts";
import type { Pod, PodCondition } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { buildEvent } from "../../runtime/events.ts";
import { rfc3339 as iso } from "../../bus/time.ts";

type Work =
  | { type: "event"; pod: Pod; reason: string; message: string; eventType: "Normal" | "Warning"; count: number; first: number; last: number }
  | { type: "status"; pod: Pod; message: string };

export interface RecorderOptions {
  store: StoreClient;
  component: string;
  instance: string;
  now: () => number;
  log: Logger;
  maxPending?: number;
  concurrency?: number;
}

const MAX_WRITTEN = 10_000;

export class EventRecorder {
  private readonly pending = new Map<string, Work>();
  /** key → name and count of the Event already written (for aggregation), bounded. */
  private readonly written = new Map<string, { name: string; count: number; first: number }>();
  private running = 0;
  private idle?: () => void;
  dropped = 0;
  private readonly maxPending: number;
  private readonly concurrency: number;
  private stopped = false;

  constructor(private readonly o: RecorderOptions) {
    this.maxPending = o.maxPending ?? 1000;
    this.concurrency = o.concurrency ?? 2;
  }

  scheduled(pod: Pod, node: string): void {
    this.event(pod, "Scheduled", `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`, "Normal");
  }

  /** A FailedScheduling Event and the pod's PodScheduled=False (reason Unschedulable) condition. */
  failedScheduling(pod: Pod, message: string): void {
    this.event(pod, "FailedScheduling", message, "Warning");
    const cur = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (cur && cur.status === "False" && cur.reason === "Unschedulable" && cur.message === message) return;
    this.enqueue(`${pod.metadata.namespace}/${pod.metadata.name}/status`, { type: "status", pod, message });
  }

  private event(pod: Pod, reason: string, message: string, eventType: "Normal" | "Warning"): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}/${reason}`;
    const now = this.o.now();
    const prev = this.pending.get(key);
    if (prev && prev.type === "event") {
      prev.count++;
      prev.last = now;
      prev.message = message;
      prev.pod = pod;
      return;
    }
    this.enqueue(key, { type: "event", pod, reason, message, eventType, count: 1, first: now, last: now });
  }

  private enqueue(key: string, w: Work): void {
    if (this.stopped) return;
    if (!this.pending.has(key) && this.pending.size >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.set(key, w);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending.size > 0) {
      const [key, w] = this.pending.entries().next().value as [string, Work];
      this.pending.delete(key);
      this.running++;
      void this.write(key, w)
        .catch((e: Error) => this.o.log.debug("event write failed", { key, error: e.message }))
        .finally(() => {
          this.running--;
          if (this.pending.size > 0) this.pump();
          else if (this.running === 0) this.idle?.();
        });
    }
  }

  private async write(key: string, w: Work): Promise<void> {
    const ns = w.pod.metadata.namespace ?? "default";
    if (w.type === "status") {
      const now = iso(this.o.now());
      const cond: PodCondition = { type: "PodScheduled", status: "False", reason: "Unschedulable", message: w.message, lastProbeTime: null, lastTransitionTime: now };
      const conditions = [...(w.pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled"), cond];
      // The cached pod is shared: build a new object, never mutate it. A Conflict means the pod
      // changed meanwhile; the next attempt writes the condition again.
      await this.o.store.updateStatus("pods", { ...w.pod, status: { ...w.pod.status, phase: w.pod.status?.phase ?? "Pending", conditions } });
      return;
    }
    const prior = this.written.get(key);
    if (prior) {
      prior.count += w.count;
      try {
        await this.o.store.patch("events", ns, prior.name, "merge", { count: prior.count, message: w.message, lastTimestamp: iso(w.last) });
        return;
      } catch {
        this.written.delete(key); // expired or gone: write a new one
      }
    }
    const ev = buildEvent({
      involved: { kind: "Pod", namespace: ns, name: w.pod.metadata.name, uid: w.pod.metadata.uid, apiVersion: "v1", resourceVersion: w.pod.metadata.resourceVersion },
      type: w.eventType,
      reason: w.reason,
      message: w.message,
      source: { component: this.o.component, host: this.o.instance },
      first: new Date(w.first),
      last: new Date(w.last),
      count: w.count,
    });
    const name = ev.metadata.name!;
    await this.o.store.create("events", ns, ev);
    this.written.set(key, { name, count: w.count, first: w.first });
    if (this.written.size > MAX_WRITTEN) this.written.delete(this.written.keys().next().value!);
  }

  /** Stops accepting work and waits (up to timeoutMs) for pending writes. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.running === 0 && this.pending.size === 0) {
      this.stopped = true;
      return;
    }
    await Promise.race([new Promise<void>((r) => (this.idle = r)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.stopped = true;
  }
}
