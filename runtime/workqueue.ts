/**
 * A work queue of keys (client-go's workqueue): adding a key that is already queued is a no-op, a
 * key is never processed twice at once (re-added while running → runs again after), and a failing
 * key is retried with per-key exponential back-off; success (or `forget`) resets its back-off.
 * A key waiting for a delayed add keeps the earliest time asked for.
 */
import type { Logger } from "./logger.ts";
import { sliceSpent, nextSlice } from "./time-slice.ts";

export interface WorkQueueOptions {
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: Logger;
}

/** The delay before retry number `attempt` (1, 2, …): base · 2^(attempt−1), capped (client-go's per-item limiter). */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { t: NodeJS.Timeout; at: number }>();
  private active = 0;
  /** A pump waits for the next time slice. */
  private deferred = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 1;
    this.baseDelayMs = opts.baseDelayMs ?? 50;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
  }

  get length(): number {
    return this.queue.length;
  }
  /** Keys waiting for a delayed add (a back-off retry or an `addAfter`). */
  get waiting(): number {
    return this.timers.size;
  }
  /** Failures of `key` since its last success or `forget`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
  /** Resets the key's back-off (its next failure waits the base delay again). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.t);
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    t.unref?.();
    this.timers.set(key, { t, at });
  }

  /** Resolves when nothing is queued or running (for specs and graceful drain). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const { t } of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.active > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    if (this.deferred) return;
    while (this.active < this.concurrency && this.queue.length > 0) {
      // Keys whose handler never waits for I/O would otherwise run back to back as one task.
      if (sliceSpent()) {
        this.deferred = true;
        void nextSlice().then(() => {
          this.deferred = false;
          this.pump();
        });
        return;
      }
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.running.add(key);
      this.active++;
      void this.run(key);
    }
    if (this.queue.length === 0 && this.active === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = backoffDelay(n, this.baseDelayMs, this.maxDelayMs);
      this.opts.log?.debug("requeue after error", { key, attempt: n, delayMs: delay, error: (e as Error).message });
      if (!this.closed) this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
