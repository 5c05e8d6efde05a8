/**
 * Fakes for the leader election specs: a clock that moves only when told, and an in-memory lease
 * store shared by several electors, each through its own link that can be cut (calls then get no
 * answer, like a frozen network) and can deliver late.
 */
import type { Lease } from "../../bus/resources.ts";
import type { LeaseStore, LeaderClock } from "../../runtime/leader.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export class FakeClock implements LeaderClock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return () => void this.timers.delete(id);
  }

  /** Moves time forward, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await settle();
  }

  /** Advances in small steps until `done()` holds; returns the time it first held. */
  async until(done: () => boolean, limitMs: number, stepMs = 1): Promise<number> {
    const end = this.t + limitMs;
    while (!done()) {
      if (this.t >= end) throw new Error(`not reached within ${limitMs} ms of fake time`);
      await this.advance(stepMs);
    }
    return this.t;
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export interface Call {
  op: "get" | "create" | "update";
  by: string;
  at: number;
  timeoutMs: number;
  lease?: Lease;
}

/** One lease table; `link(name)` is one replica's way to it. */
export class FakeLeaseStore {
  readonly leases = new Map<string, Lease>();
  readonly calls: Call[] = [];
  private rev = 0;

  constructor(private readonly clock: FakeClock) {}

  put(lease: Lease): Lease {
    const stored = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rev) } });
    this.leases.set(lease.metadata.name!, stored);
    return structuredClone(stored);
  }

  link(by: string): FakeLink {
    return new FakeLink(this, by, this.clock);
  }

  apply(op: Call["op"], arg: string | Lease): Lease | undefined {
    if (op === "get") {
      const l = this.leases.get(arg as string);
      return l && structuredClone(l);
    }
    const lease = arg as Lease;
    const cur = this.leases.get(lease.metadata.name!);
    if (op === "create") {
      if (cur) throw new FlotillaError(ErrorCode.AlreadyExists, "exists");
      return this.put(lease);
    }
    if (!cur) throw new FlotillaError(ErrorCode.NotFound, "no lease");
    if (cur.metadata.resourceVersion !== lease.metadata.resourceVersion) throw new FlotillaError(ErrorCode.Conflict, "stale revision");
    return this.put(lease);
  }
}

/**
 * A replica's link: `cut` holds every call (neither applied nor answered) until `heal`, which
 * delivers the held calls then; `answerAfterMs` applies at once but answers late; `dropAnswers`
 * applies and never answers.
 */
export class FakeLink implements LeaseStore {
  cut = false;
  dropAnswers = false;
  answerAfterMs = 0;
  private held: (() => void)[] = [];

  constructor(
    private readonly s: FakeLeaseStore,
    private readonly by: string,
    private readonly clock: FakeClock,
  ) {}

  heal(): void {
    this.cut = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  get(name: string, timeoutMs: number): Promise<Lease | undefined> {
    return this.call("get", name, timeoutMs);
  }
  create(lease: Lease, timeoutMs: number): Promise<Lease> {
    return this.call("create", lease, timeoutMs) as Promise<Lease>;
  }
  update(lease: Lease, timeoutMs: number): Promise<Lease> {
    return this.call("update", lease, timeoutMs) as Promise<Lease>;
  }

  private call(op: Call["op"], arg: string | Lease, timeoutMs: number): Promise<Lease | undefined> {
    this.s.calls.push({ op, by: this.by, at: this.clock.now(), timeoutMs, lease: typeof arg === "string" ? undefined : structuredClone(arg) });
    return new Promise((resolve, reject) => {
      const run = () => {
        let r: { ok: true; v: Lease | undefined } | { ok: false; e: unknown };
        try {
          r = { ok: true, v: this.s.apply(op, arg) };
        } catch (e) {
          r = { ok: false, e };
        }
        if (this.dropAnswers) return;
        const answer = () => (r.ok ? resolve(r.v) : reject(r.e));
        if (this.answerAfterMs > 0) this.clock.after(this.answerAfterMs, answer);
        else answer();
      };
      if (this.cut) this.held.push(run);
      else run();
    });
  }
}

export { quietLog } from "../harness/quiet-log.ts";
