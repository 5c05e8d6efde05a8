/**
 * Cooperative time slices for one process's event loop. A chain of promises that never waits for
 * I/O (a work queue draining thousands of keys whose reconcile writes nothing, an informer handing
 * a 100,000-object snapshot to its handlers) runs as one task: timers, NATS replies and lease
 * renewals wait behind it, and a leader whose renewal waits past its deadline steps down. Long
 * loops ask `sliceSpent()` between items and, when the slice is spent, go on after `nextSlice()`,
 * which lets the event loop serve I/O first.
 *
 * @example
 *   for (const item of items) {
 *     if (sliceSpent()) await nextSlice();
 *     handle(item);
 *   }
 */
import { performance } from "node:perf_hooks";

/** How long one slice of synchronous work may run before the loop serves I/O. */
export const SLICE_MS = 20;

let sliceStart = -1;

/**
 * Whether the current slice has run longer than SLICE_MS. The first call of a task starts the
 * slice; the slice ends when the event loop reaches its check phase (the next `setImmediate`).
 */
export function sliceSpent(): boolean {
  const now = performance.now();
  if (sliceStart < 0) {
    sliceStart = now;
    setImmediate(() => {
      sliceStart = -1;
    });
    return false;
  }
  return now - sliceStart > SLICE_MS;
}

/** Resolves after the event loop has polled for I/O once. */
export function nextSlice(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
