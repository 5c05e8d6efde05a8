/**
 * Leader election on a coordination Lease written with CAS through the store, with client-go's
 * timing rules (docs/architecture.md, "Leader election"). All local deadlines use a monotonic
 * clock; clocks of different replicas never need to agree.
 *
 * - A leader's term is valid until `renewDeadline` after it SENT its last confirmed renewal
 *   (acquisition counts as one). Renewals go out every `retryPeriod`, each with a timeout that ends
 *   before that deadline. Unconfirmed by then, the leader steps down at the deadline: the term's
 *   signal aborts, so a fenced store client sends nothing more.
 * - A standby takes the lease only after it has seen the same version of it for a whole
 *   `leaseDuration` (counted from when its read returned), or at once when it was released.
 *   Since `renewDeadline < leaseDuration`, the old leader has stopped before that.
 * - Every acquisition bumps `leaseTransitions`: that number is the term's fence, which the store
 *   checks on each fenced write.
 * - `stop()` ends the term, waits for `onStopped` (the host stops the actor), then releases.
 *
 * @example
 *   const e = new LeaderElector({ store: leaseStore(storeClient), name: "scheduler", identity: id, log,
 *     onStarted: (term) => run(storeClient.fenced(term)), onStopped: () => actor.stop() });
 *   e.start();
 */
import type { Lease } from "../bus/resources.ts";
import type { StoreClient } from "../bus/store-client.ts";
import type { FenceGuard } from "../bus/fence.ts";
import type { Logger } from "./logger.ts";
import { ErrorCode, FlotillaError, isCode } from "../bus/errors.ts";
import { LEADER_NAMESPACE } from "../bus/fence.ts";
import { rfc3339Micro } from "../bus/time.ts";
import type { LeaderClock, LeaderTiming } from "./leader-timing.ts";
import { leaderTiming, monotonicClock } from "./leader-timing.ts";

export { LEADER_NAMESPACE };
export type { LeaderClock, LeaderTiming };
export { leaderTiming, monotonicClock };

/** One term of leadership: what the actor's writes are fenced with. */
export type LeaderTerm = FenceGuard;

/** The three store calls the elector makes, each with a timeout. NotFound on get → undefined. */
export interface LeaseStore {
  get(name: string, timeoutMs: number): Promise<Lease | undefined>;
  create(lease: Lease, timeoutMs: number): Promise<Lease>;
  update(lease: Lease, timeoutMs: number): Promise<Lease>;
}

export function leaseStore(store: StoreClient): LeaseStore {
  return {
    get: (name, t) =>
      store.send<Lease>({ type: "get", resource: "leases", namespace: LEADER_NAMESPACE, name }, t).catch((e: unknown) => {
        if (isCode(e, ErrorCode.NotFound)) return undefined;
        throw e;
      }),
    create: (lease, t) => store.send<Lease>({ type: "create", resource: "leases", namespace: LEADER_NAMESPACE, object: lease }, t),
    update: (lease, t) => store.send<Lease>({ type: "update", resource: "leases", namespace: LEADER_NAMESPACE, name: lease.metadata.name!, object: lease }, t),
  };
}

export interface LeaderOptions extends Partial<LeaderTiming> {
  store: LeaseStore;
  name: string;
  identity: string;
  log: Logger;
  onStarted: (term: LeaderTerm) => void;
  /** Called when a term ends (`at`: the clock time it ended); `stop()` awaits it before releasing. */
  onStopped: (reason: string, at: number) => void | Promise<void>;
  clock?: LeaderClock;
  /** For the Lease's informational renewTime/acquireTime only. */
  wallNow?: () => number;
}

interface Term {
  guard: LeaderTerm;
  abort: AbortController;
  validUntil: number;
  cancelDeadline: () => void;
}

export class LeaderElector {
  private term?: Term;
  private lease?: Lease;
  private observed?: { version: string; at: number };
  private stopped = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private ending: Promise<void> = Promise.resolve();
  private readonly t: LeaderTiming;
  private readonly clock: LeaderClock;

  constructor(private readonly o: LeaderOptions) {
    this.t = leaderTiming(o);
    this.clock = o.clock ?? monotonicClock;
  }

  get timing(): LeaderTiming {
    return this.t;
  }

  get isLeader(): boolean {
    return this.term !== undefined && this.clock.now() < this.term.validUntil;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.term) this.stepDown(this.term, "stopping", this.clock.now());
    await this.ending;
    await this.loop;
    await this.release().catch((e: unknown) => this.o.log.debug("lease release failed", { lease: this.o.name, error: (e as Error).message }));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const leading = this.term !== undefined;
      const t0 = this.clock.now();
      try {
        if (leading) await this.renew(this.term!);
        else await this.tryAcquire();
      } catch (e) {
        // A leader's failed renewal is what ends terms: say why. A standby's failed round is routine.
        const fields = { lease: this.o.name, error: (e as Error).message, ms: Math.round(this.clock.now() - t0) };
        if (leading) this.o.log.warn("lease renewal failed", fields);
        else this.o.log.debug("lease round failed", fields);
      }
      if (!this.stopped) await this.sleep(this.t.retryPeriodMs);
    }
  }

  private async renew(term: Term): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const sent = this.clock.now();
      const left = term.validUntil - sent;
      if (left <= 0 || this.term !== term) return;
      try {
        const l = await this.call(this.o.store.update(this.written(this.lease!, false), budget(left)), left);
        if (this.term !== term) return;
        this.lease = l;
        if (this.clock.now() >= term.validUntil) this.stepDown(term, "renewal confirmed after the renew deadline", term.validUntil);
        else this.extend(term, sent + this.t.renewDeadlineMs);
        return;
      } catch (e) {
        if (!isCode(e, ErrorCode.Conflict)) throw e;
      }
      // Written since our last version: a renewal of ours that timed out but landed, or a new holder.
      const rest = term.validUntil - this.clock.now();
      const cur = await this.call(this.o.store.get(this.o.name, budget(rest)), rest);
      if (this.term !== term) return;
      this.lease = cur;
      if (!cur || !this.heldBy(cur, term.guard.fence.term)) {
        if (cur) this.observe(cur);
        this.stepDown(term, cur ? `lease held by ${cur.spec.holderIdentity || "nobody"}` : "lease deleted", this.clock.now());
        return;
      }
    }
  }

  private async tryAcquire(): Promise<void> {
    const timeout = this.t.renewDeadlineMs;
    const cur = await this.call(this.o.store.get(this.o.name, timeout), timeout);
    if (this.stopped) return;
    if (!cur) {
      const sent = this.clock.now();
      try {
        this.acquired(await this.call(this.o.store.create(this.fresh(), timeout), timeout), sent);
      } catch (e) {
        if (!isCode(e, ErrorCode.AlreadyExists)) throw e;
      }
      return;
    }
    this.lease = cur;
    this.observe(cur);
    const holder = cur.spec.holderIdentity ?? "";
    const durationMs = Math.max(this.t.leaseDurationMs, (cur.spec.leaseDurationSeconds ?? 0) * 1000);
    // Our own lease (a term we stepped down from) is ours to take again at once: the CAS fails if anyone wrote since.
    const free = holder === "" || holder === this.o.identity || this.clock.now() - this.observed!.at >= durationMs;
    if (!free) return;
    const sent = this.clock.now();
    try {
      this.acquired(await this.call(this.o.store.update(this.written(cur, true), timeout), timeout), sent);
    } catch (e) {
      if (!isCode(e, ErrorCode.Conflict)) throw e;
    }
  }

  private acquired(l: Lease, sent: number): void {
    this.lease = l;
    const validUntil = sent + this.t.renewDeadlineMs;
    // Stopping, or confirmed too late to act: the lease names us; stop() or the next round sorts it out.
    if (this.stopped || this.clock.now() >= validUntil) return;
    const abort = new AbortController();
    const term: Term = {
      abort,
      validUntil,
      cancelDeadline: () => undefined,
      guard: {
        fence: { lease: this.o.name, holder: this.o.identity, term: l.spec.leaseTransitions ?? 0 },
        signal: abort.signal,
        remainingMs: () => (this.term === term ? term.validUntil - this.clock.now() : 0),
      },
    };
    this.term = term;
    this.extend(term, validUntil);
    this.o.log.info("became leader", { lease: this.o.name, term: term.guard.fence.term });
    this.o.onStarted(term.guard);
  }

  private extend(term: Term, until: number): void {
    term.validUntil = until;
    term.cancelDeadline();
    term.cancelDeadline = this.clock.after(until - this.clock.now(), () => this.stepDown(term, "renewal not confirmed within the renew deadline", until));
  }

  private stepDown(term: Term, reason: string, at: number): void {
    if (this.term !== term) return;
    this.term = undefined;
    term.cancelDeadline();
    term.abort.abort(new FlotillaError(ErrorCode.Conflict, `leadership of ${this.o.name} ended: ${reason}`));
    this.o.log.warn("lost leadership", { lease: this.o.name, term: term.guard.fence.term, reason });
    const ended = (async () => this.o.onStopped(reason, at))().catch((e: unknown) =>
      this.o.log.warn("stopping the leader's actor failed", { lease: this.o.name, error: (e as Error).message }),
    );
    this.ending = this.ending.then(() => ended);
  }

  /** Hands the lease over at once: only if it still names us (CAS), after our actor has stopped. */
  private async release(): Promise<void> {
    const timeout = this.t.renewDeadlineMs;
    for (let attempt = 0; attempt < 2 && this.lease && this.lease.spec.holderIdentity === this.o.identity; attempt++) {
      try {
        this.lease = await this.call(this.o.store.update({ ...this.lease, spec: { ...this.lease.spec, holderIdentity: "", leaseDurationSeconds: 1 } }, timeout), timeout);
        return;
      } catch (e) {
        if (!isCode(e, ErrorCode.Conflict)) throw e;
        this.lease = await this.call(this.o.store.get(this.o.name, timeout), timeout);
      }
    }
  }

  private heldBy(l: Lease, term: number): boolean {
    return l.spec.holderIdentity === this.o.identity && (l.spec.leaseTransitions ?? 0) === term;
  }

  /** Remembers when this replica first saw this version of the lease (its own clock, on return). */
  private observe(l: Lease): void {
    const version = l.metadata.resourceVersion ?? `${l.spec.holderIdentity}|${l.spec.renewTime}`;
    if (this.observed?.version !== version) this.observed = { version, at: this.clock.now() };
  }

  private spec(): Lease["spec"] {
    const now = rfc3339Micro((this.o.wallNow ?? Date.now)());
    return { holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(this.t.leaseDurationMs / 1000), renewTime: now, acquireTime: now };
  }

  private fresh(): Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.o.name, namespace: LEADER_NAMESPACE },
      spec: { ...this.spec(), leaseTransitions: 0 },
    };
  }

  /** The lease as this replica writes it: a renewal keeps acquireTime; an acquisition starts a new term. */
  private written(l: Lease, acquire: boolean): Lease {
    const { acquireTime, ...s } = this.spec();
    const spec = acquire ? { ...l.spec, ...s, acquireTime, leaseTransitions: (l.spec.leaseTransitions ?? 0) + 1 } : { ...l.spec, ...s };
    return { ...l, spec };
  }

  /** A store call that gives up after `ms` on this elector's clock, whatever the transport does. */
  private call<T>(p: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.clock.after(Math.max(0, ms), () => reject(new FlotillaError(ErrorCode.Timeout, `lease ${this.o.name}: no answer within ${Math.round(ms)} ms`)));
      p.then(
        (v) => (cancel(), resolve(v)),
        (e: unknown) => (cancel(), reject(e)),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.clock.after(ms, () => resolve());
      this.wake = () => (cancel(), resolve());
    });
  }
}

/** A store call's own timeout: ends before the time left (whole ms, at least 1). */
function budget(leftMs: number): number {
  return Math.max(1, Math.floor(leftMs) - 1);
}
