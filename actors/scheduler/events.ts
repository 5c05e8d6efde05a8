/**
 * What the scheduler tells the cluster, kept off the scheduling hot path (a bound pod's Scheduled
 * Event travels with its bind, binder.ts): FailedScheduling Events go through the
 * one recorder (runtime/events.ts: bounded, repeats counted), and an unschedulable pod's
 * `PodScheduled=False` condition is written by a small work queue keyed by pod, so a pod that
 * fails many times in a row is written once with its latest message.
 *
 * @example
 *   const rep = new Reporter({ store, component: "default-scheduler", instance: id, now: Date.now, log });
 *   rep.failedScheduling(pod, "0/3 nodes are available: …");  // Event + PodScheduled=False
 *   await rep.stop();                      // drains what is pending (bounded wait)
 */
import type { StoreClient } from "../../bus/store-client.ts";
import type { Pod, PodCondition } from "../../bus/resources.ts";
import type { Logger } from "../../runtime/logger.ts";
import { EventRecorder, podReference } from "../../runtime/events.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { keyFor } from "../../runtime/informer.ts";
import { rfc3339 as iso } from "../../bus/time.ts";

export interface ReporterOptions {
  store: StoreClient;
  component: string;
  instance: string;
  now: () => number;
  log: Logger;
}


export class Reporter {
  private readonly events: EventRecorder;
  /** Pod key → the pod as last seen and the condition message to write. */
  private readonly conditions = new Map<string, { pod: Pod; message: string }>();
  private readonly writes: WorkQueue;

  constructor(private readonly o: ReporterOptions) {
    this.events = new EventRecorder({ store: o.store, source: { component: o.component, host: o.instance }, now: o.now, log: o.log, concurrency: 2 });
    this.writes = new WorkQueue((key) => this.writeCondition(key), { concurrency: 2 });
  }

  /** A FailedScheduling Event and the pod's PodScheduled=False (reason Unschedulable) condition. */
  failedScheduling(pod: Pod, message: string): void {
    this.events.record(podReference(pod), "Warning", "FailedScheduling", message);
    const cur = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (cur && cur.status === "False" && cur.reason === "Unschedulable" && cur.message === message) return;
    const key = keyFor(pod);
    this.conditions.set(key, { pod, message });
    this.writes.add(key);
  }

  private async writeCondition(key: string): Promise<void> {
    const w = this.conditions.get(key);
    if (!w) return;
    this.conditions.delete(key);
    const cond: PodCondition = { type: "PodScheduled", status: "False", reason: "Unschedulable", message: w.message, lastProbeTime: null, lastTransitionTime: iso(this.o.now()) };
    const conditions = [...(w.pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled"), cond];
    // The cached pod is shared: build a new object, never mutate it. A Conflict means the pod
    // changed meanwhile; its next failed attempt writes the condition again.
    await this.o.store
      .updateStatus("pods", { ...w.pod, status: { ...w.pod.status, phase: w.pod.status?.phase ?? "Pending", conditions } })
      .catch((e: Error) => this.o.log.debug("PodScheduled condition not written", { pod: key, error: e.message }));
  }

  /** Stops and waits (up to timeoutMs) for what is pending. */
  async stop(timeoutMs = 2000): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.writes.idle(), new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
    await this.writes.shutdown();
    await this.events.stop(timeoutMs);
  }
}
