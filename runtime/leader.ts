/**
 * Leader election on a coordination Lease written with CAS through the store (client-go's
 * leaderelection): acquire when absent or expired, renew every `renewMs`, step down when a renewal
 * has not succeeded within the lease duration, release on stop so a standby takes over at once.
 * Expiry is judged by the time this replica *observed* the lease change, so clocks need not agree.
 */
import type { StoreClient } from "../bus/store-client.ts";
import type { Lease } from "../bus/resources.ts";
import type { Logger } from "./logger.ts";
import { ErrorCode, FlotillaError } from "../bus/errors.ts";
import { rfc3339Micro } from "../bus/time.ts";

export const LEADER_NAMESPACE = "kube-system";

export interface LeaderOptions {
  store: StoreClient;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewMs?: number;
  log: Logger;
  onStarted: () => void;
  onStopped: () => void;
  now?: () => number;
}


export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  private observed?: { key: string; at: number };
  private readonly durationMs: number;
  private readonly renewMs: number;
  private readonly now: () => number;

  constructor(private readonly o: LeaderOptions) {
    this.durationMs = o.leaseDurationMs ?? 5000;
    this.renewMs = o.renewMs ?? Math.max(200, Math.floor(this.durationMs / 3));
    this.now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.tick();
      } catch (e) {
        this.o.log.debug("lease round failed", { error: (e as Error).message });
      }
      if (this.leading && this.now() - this.lastRenew > this.durationMs) this.stepDown("renewal deadline passed");
      if (!this.stopped) {
        this.timer = setTimeout(loop, this.leading ? this.renewMs : Math.max(100, Math.floor(this.renewMs / 2)));
        this.timer.unref?.();
      }
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.stepDown("stopping");
      try {
        const l = await this.o.store.get<Lease>("leases", LEADER_NAMESPACE, this.o.name);
        if (l.spec.holderIdentity === this.o.identity) {
          await this.o.store.update("leases", { ...l, spec: { ...l.spec, holderIdentity: "", leaseDurationSeconds: 1 } });
        }
      } catch {
        // Best effort: the lease expires by itself.
      }
    }
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.o.log.warn("lost leadership", { lease: this.o.name, reason: why });
    this.o.onStopped();
  }

  private becomeLeader(): void {
    this.lastRenew = this.now();
    if (this.leading) return;
    this.leading = true;
    this.o.log.info("became leader", { lease: this.o.name });
    this.o.onStarted();
  }

  private async tick(): Promise<void> {
    const { store, name, identity } = this.o;
    const now = this.now();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.durationMs / 1000), renewTime: rfc3339Micro(now) };
    let lease: Lease;
    try {
      lease = await store.get<Lease>("leases", LEADER_NAMESPACE, name);
    } catch (e) {
      if (e instanceof FlotillaError && e.code === ErrorCode.NotFound) {
        await store.create("leases", LEADER_NAMESPACE, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace: LEADER_NAMESPACE },
          spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
        });
        this.becomeLeader();
        return;
      }
      throw e;
    }
    const holder = lease.spec.holderIdentity ?? "";
    const key = `${holder}|${lease.spec.renewTime}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, at: now };
    const durMs = (lease.spec.leaseDurationSeconds ?? 5) * 1000;
    const expired = holder === "" || now - this.observed.at > durMs;
    if (holder !== identity && !expired) {
      if (this.leading) this.stepDown(`lease held by ${holder}`);
      return;
    }
    const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    try {
      await store.update("leases", {
        ...lease,
        spec: { ...lease.spec, ...spec, leaseTransitions: transitions, ...(holder === identity ? {} : { acquireTime: spec.renewTime }) },
      });
      this.becomeLeader();
    } catch (e) {
      if (e instanceof FlotillaError && e.code === ErrorCode.Conflict) {
        if (this.leading) this.stepDown("lease changed under us");
        return;
      }
      throw e;
    }
  }
}
