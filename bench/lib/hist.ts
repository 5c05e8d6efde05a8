/**
 * Latency recording on hdr-histogram-js (microsecond resolution, values given in ms), so that no
 * benchmark hand-rolls percentiles.
 *
 * @example
 *   const h = latencies();  h.record(1.25);  h.percentile(99);  h.destroy();
 */
import * as hdr from "hdr-histogram-js";

export interface Latencies {
  record(ms: number): void;
  /** In ms. */
  percentile(p: number): number;
  readonly count: number;
  destroy(): void;
}

export function latencies(): Latencies {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  return {
    record: (ms) => h.recordValue(Math.max(1, Math.round(ms * 1000))),
    percentile: (p) => h.getValueAtPercentile(p) / 1000,
    get count() {
      return h.totalCount;
    },
    destroy: () => h.destroy(),
  };
}

/** Runs `fn(i)` for i in 0…n-1 with `inFlight` calls outstanding; records each call's latency. */
export async function closedLoop(n: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const h = latencies();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await fn(i);
        h.record(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const r = { perSecond: n / seconds, p50Ms: h.percentile(50), p99Ms: h.percentile(99) };
  h.destroy();
  return r;
}
