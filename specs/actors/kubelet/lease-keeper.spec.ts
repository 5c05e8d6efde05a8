/**
 * The node's Lease renewals (actors/kubelet/node-status.ts): a node fences itself when no renewal
 * lands for the lease's duration, so after a failed renewal the next one must not wait a whole
 * interval. Seen in a chaos run: a stream electing a new leader refused writes for ~6 s, and
 * renewals every 2.5 s + 2.5 s of time-out tried only twice in the 10 s lease.
 */
import { expect } from "chai";
import type { StoreClient } from "../../../bus/store-client.ts";
import type { Lease } from "../../../bus/resources.ts";
import { LeaseKeeper, RETRY_AFTER_FAILURE_MS } from "../../../actors/kubelet/node-status.ts";
import { FlotillaError, ErrorCode } from "../../../bus/errors.ts";
import { createLogger } from "../../../runtime/logger.ts";

/** A store that refuses the first `failures` writes, then stores each Lease; it records when each write came. */
function flakyStore(failures: number) {
  const calls: number[] = [];
  let rv = 1;
  const store = {
    async send<T>(req: { object: Lease }): Promise<T> {
      calls.push(Date.now());
      if (calls.length <= failures) throw new FlotillaError(ErrorCode.Unavailable, "read: JetStream system temporarily unavailable");
      return { ...req.object, metadata: { ...req.object.metadata, resourceVersion: String(++rv) } } as T;
    },
  };
  return { store: store as unknown as StoreClient, calls };
}

describe("kubelet lease renewals", () => {
  const log = createLogger("spec");

  it("tries again soon after a failed renewal, and a whole interval after a good one", async () => {
    const { store, calls } = flakyStore(2);
    const keeper = new LeaseKeeper(store, { durationSeconds: 40, renewIntervalMs: 10_000, log });
    keeper.add("n1", "uid-1");
    const t0 = Date.now();
    await keeper.start(); // the first renewal fails
    try {
      // Two more attempts (the second fails, the third lands), each RETRY_AFTER_FAILURE_MS after the last.
      for (let i = 0; i < 100 && calls.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      expect(calls, "renewals tried").to.have.length(3);
      expect(calls[2]! - t0).to.be.below(10_000 / 2);
      // Renewed by the third attempt: counted from when it was sent, after the second had failed.
      expect(keeper.renewedAt("n1")).to.be.above(calls[1]!);
      // After the good one, the next waits the interval.
      await new Promise((r) => setTimeout(r, RETRY_AFTER_FAILURE_MS * 3));
      expect(calls).to.have.length(3);
    } finally {
      await keeper.stop();
    }
  });
});
