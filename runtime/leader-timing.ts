/**
 * Leader election timing and the clock it runs on. client-go's defaults are leaseDuration 15 s,
 * renewDeadline 10 s, retryPeriod 2 s; Flotilla keeps the same proportions on a shorter lease
 * (5 s → renew deadline 3.33 s, retry period 0.67 s).
 */
import { performance } from "node:perf_hooks";

export interface LeaderTiming {
  /** A standby takes over after seeing the lease unchanged this long. */
  leaseDurationMs: number;
  /** A leader stops acting this long after sending its last confirmed renewal. */
  renewDeadlineMs: number;
  /** Time between renewals (leader) and between looks at the lease (standby). */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_DURATION_MS = 5000;

/** Fills in the defaults (renewDeadline = ⅔ lease, retryPeriod = 2⁄15 lease) and checks the order. */
export function leaderTiming(o: Partial<LeaderTiming> = {}): LeaderTiming {
  const leaseDurationMs = o.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const renewDeadlineMs = o.renewDeadlineMs ?? Math.round((leaseDurationMs * 2) / 3);
  const retryPeriodMs = o.retryPeriodMs ?? Math.max(10, Math.round((leaseDurationMs * 2) / 15));
  if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error(`leader election needs retryPeriod < renewDeadline < leaseDuration (got ${retryPeriodMs}, ${renewDeadlineMs}, ${leaseDurationMs} ms)`);
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** Time for local deadlines: monotonic milliseconds and timers. */
export interface LeaderClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const monotonicClock: LeaderClock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};
