/**
 * The scheduling queue (kube-scheduler's three queues), pure apart from an injected clock:
 * - active: pods to try now, highest priority first, then oldest creation, then arrival;
 * - backoff: pods whose last attempt failed, waiting 1 s × 2^(attempts−1) (capped) before active;
 * - unschedulable: pods nothing fitted; a cluster event (node added or changed, pod deleted) moves
 *   them to backoff/active, and they are retried anyway after `maxUnschedulableMs`.
 * A pod that failed while a cluster event happened during its attempt goes to backoff, not
 * unschedulable (the event may have made room for it).
 *
 * @example
 *   const q = new SchedulingQueue({ now: Date.now });
 *   q.add({ key: "default/p", priority: 0, creation: 0 });
 *   const item = q.pop();                 // { key, attempts: 1, cycle }
 *   q.requeueUnschedulable(item!);        // nothing fitted
 *   q.moveAllToActiveOrBackoff();         // a node was added
 */
export interface QueueEntry {
  key: string;
  priority: number;
  creation: number;
}
export interface Popped extends QueueEntry {
  attempts: number;
  /** The scheduling cycle this pop started. */
  cycle: number;
}

interface Item extends QueueEntry {
  attempts: number;
  seq: number;
  backoffUntil: number;
  unschedulableSince: number;
}

export interface QueueOptions {
  now: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxUnschedulableMs?: number;
}

const before = (a: Item, b: Item) =>
  a.priority !== b.priority ? a.priority > b.priority : a.creation !== b.creation ? a.creation < b.creation : a.seq < b.seq;

/** A binary heap of items keyed by pod key (updates and deletes by key). */
class Heap {
  private readonly a: Item[] = [];
  private readonly pos = new Map<string, number>();
  constructor(private readonly less: (x: Item, y: Item) => boolean) {}
  get size(): number {
    return this.a.length;
  }
  has(key: string): boolean {
    return this.pos.has(key);
  }
  get(key: string): Item | undefined {
    const i = this.pos.get(key);
    return i === undefined ? undefined : this.a[i];
  }
  peek(): Item | undefined {
    return this.a[0];
  }
  push(it: Item): void {
    if (this.pos.has(it.key)) this.remove(it.key);
    this.a.push(it);
    this.pos.set(it.key, this.a.length - 1);
    this.up(this.a.length - 1);
  }
  pop(): Item | undefined {
    const top = this.a[0];
    if (top) this.remove(top.key);
    return top;
  }
  remove(key: string): Item | undefined {
    const i = this.pos.get(key);
    if (i === undefined) return undefined;
    const it = this.a[i]!;
    const last = this.a.pop()!;
    this.pos.delete(key);
    if (i < this.a.length) {
      this.a[i] = last;
      this.pos.set(last.key, i);
      this.down(i);
      this.up(i);
    }
    return it;
  }
  private swap(i: number, j: number): void {
    const x = this.a[i]!;
    const y = this.a[j]!;
    this.a[i] = y;
    this.a[j] = x;
    this.pos.set(y.key, i);
    this.pos.set(x.key, j);
  }
  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.a[i]!, this.a[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }
  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.a.length && this.less(this.a[l]!, this.a[m]!)) m = l;
      if (r < this.a.length && this.less(this.a[r]!, this.a[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

export class SchedulingQueue {
  private readonly active = new Heap(before);
  private readonly backoff = new Heap((a, b) => a.backoffUntil < b.backoffUntil || (a.backoffUntil === b.backoffUntil && before(a, b)));
  private readonly unschedulable = new Map<string, Item>();
  /** Pods popped and not yet requeued or done: their attempt counts. */
  private readonly inFlight = new Map<string, Item>();
  private seq = 0;
  private cycle = 0;
  private moveRequestCycle = -1;
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;

  constructor(o: QueueOptions) {
    this.now = o.now;
    this.initialBackoffMs = o.initialBackoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = o.maxUnschedulableMs ?? 60_000;
  }

  get length(): number {
    return this.active.size + this.backoff.size + this.unschedulable.size;
  }
  get activeLength(): number {
    return this.active.size;
  }
  has(key: string): boolean {
    return this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key) || this.inFlight.has(key);
  }

  /** A new or changed pending pod: to active unless it is already waiting in backoff or being tried. */
  add(e: QueueEntry): void {
    if (this.inFlight.has(e.key)) return;
    const prev = this.active.get(e.key) ?? this.backoff.get(e.key) ?? this.unschedulable.get(e.key);
    const it: Item = { ...e, attempts: prev?.attempts ?? 0, seq: prev?.seq ?? this.seq++, backoffUntil: prev?.backoffUntil ?? 0, unschedulableSince: 0 };
    if (this.backoff.has(e.key)) {
      this.backoff.push(it);
      return;
    }
    // A change to an unschedulable pod may make it schedulable: try it (after its back-off).
    this.unschedulable.delete(e.key);
    if (it.backoffUntil > this.now()) this.backoff.push(it);
    else this.active.push(it);
  }

  delete(key: string): void {
    this.active.remove(key);
    this.backoff.remove(key);
    this.unschedulable.delete(key);
    this.inFlight.delete(key);
  }

  /** The next pod to try (after moving due back-offs and stale unschedulables to active). */
  pop(): Popped | undefined {
    this.flush();
    const it = this.active.pop();
    if (!it) return undefined;
    it.attempts++;
    this.inFlight.set(it.key, it);
    return { key: it.key, priority: it.priority, creation: it.creation, attempts: it.attempts, cycle: ++this.cycle };
  }

  /** The attempt is over (bound, or the pod is gone). */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /** Nothing fitted: wait for a cluster event (or back off, if one came during the attempt). */
  requeueUnschedulable(p: Popped): void {
    const it = this.takeInFlight(p);
    if (!it) return;
    it.backoffUntil = this.now() + this.backoffMs(it.attempts);
    if (this.moveRequestCycle >= p.cycle) this.backoff.push(it);
    else {
      it.unschedulableSince = this.now();
      this.unschedulable.set(it.key, it);
    }
  }

  /** A transient failure (a bind that failed): retry after back-off. */
  requeueBackoff(p: Popped): void {
    const it = this.takeInFlight(p);
    if (!it) return;
    it.backoffUntil = this.now() + this.backoffMs(it.attempts);
    this.backoff.push(it);
  }

  /** A cluster event that may make unschedulable pods fit. */
  moveAllToActiveOrBackoff(): void {
    const now = this.now();
    for (const it of this.unschedulable.values()) {
      if (it.backoffUntil > now) this.backoff.push(it);
      else this.active.push(it);
    }
    this.unschedulable.clear();
    this.moveRequestCycle = this.cycle;
  }

  /** Moves due back-offs and long-unschedulable pods to active. */
  flush(): void {
    const now = this.now();
    for (let it = this.backoff.peek(); it && it.backoffUntil <= now; it = this.backoff.peek()) this.active.push(this.backoff.pop()!);
    for (const it of this.unschedulable.values()) {
      if (now - it.unschedulableSince >= this.maxUnschedulableMs) {
        this.unschedulable.delete(it.key);
        this.active.push(it);
      }
    }
  }

  /** Milliseconds until the next pod leaves back-off or unschedulable (undefined: nothing waits). */
  nextWakeInMs(): number | undefined {
    const now = this.now();
    let t = Infinity;
    const b = this.backoff.peek();
    if (b) t = b.backoffUntil;
    for (const it of this.unschedulable.values()) t = Math.min(t, it.unschedulableSince + this.maxUnschedulableMs);
    return t === Infinity ? undefined : Math.max(0, t - now);
  }

  private takeInFlight(p: Popped): Item | undefined {
    const it = this.inFlight.get(p.key);
    this.inFlight.delete(p.key);
    return it;
  }

  private backoffMs(attempts: number): number {
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, attempts - 1));
  }
}
