import { expect } from "chai";
import { WorkQueue, backoffDelay } from "../../runtime/workqueue.ts";
import { waitFor } from "../harness/cluster.ts";

/** A handler that blocks each run until released, recording what ran. */
function gated() {
  const runs: string[] = [];
  const waiting: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  return {
    runs,
    maxRunning: () => maxRunning,
    release: () => waiting.shift()?.(),
    pending: () => waiting.length,
    handler: async (key: string) => {
      runs.push(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((r) => waiting.push(r));
      running--;
    },
  };
}

describe("work queue", () => {
  const queues: WorkQueue[] = [];
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.shutdown();
  });
  const queue = (h: (k: string) => Promise<void>, o: ConstructorParameters<typeof WorkQueue>[1] = {}) => {
    const q = new WorkQueue(h, o);
    queues.push(q);
    return q;
  };

  describe("de-duplication", () => {
    it("runs a key added many times while it waits only once", async () => {
      const g = gated();
      const q = queue(g.handler, { concurrency: 1 });
      q.add("blocker");
      for (let i = 0; i < 5; i++) q.add("k");
      expect(q.length).to.equal(1);
      g.release();
      await waitFor(() => g.pending() === 1);
      g.release();
      await q.idle();
      expect(g.runs).to.deep.equal(["blocker", "k"]);
    });

    it("never runs one key twice at once; a key added while it runs runs once more afterwards", async () => {
      const g = gated();
      const q = queue(g.handler, { concurrency: 4 });
      q.add("k");
      await waitFor(() => g.pending() === 1);
      q.add("k");
      q.add("k");
      expect(g.runs).to.deep.equal(["k"]);
      g.release();
      await waitFor(() => g.pending() === 1);
      g.release();
      await q.idle();
      expect(g.runs).to.deep.equal(["k", "k"]);
      expect(g.maxRunning()).to.equal(1);
    });
  });

  describe("rate limiting", () => {
    it("doubles the delay per failure of a key, up to the cap", () => {
      expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 10, 50))).to.deep.equal([10, 20, 40, 50, 50, 50]);
    });

    it("retries a failing key, waiting at least the back-off between attempts, until it succeeds", async () => {
      const at: number[] = [];
      const q = queue(
        async () => {
          at.push(Date.now());
          if (at.length < 4) throw new Error("not yet");
        },
        { baseDelayMs: 20, maxDelayMs: 1000 },
      );
      q.add("k");
      await waitFor(() => at.length === 4, { what: "the fourth attempt" });
      await q.idle();
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      expect(gaps[0]).to.be.at.least(19);
      expect(gaps[1]).to.be.at.least(39);
      expect(gaps[2]).to.be.at.least(79);
      expect(q.retries("k"), "a success forgets the failures").to.equal(0);
      expect(q.waiting).to.equal(0);
    });

    it("counts failures per key, so one failing key does not slow another", async () => {
      const ran: string[] = [];
      const q = queue(
        async (k) => {
          ran.push(k);
          if (k === "bad") throw new Error("bad");
        },
        { baseDelayMs: 10_000 },
      );
      q.add("bad");
      q.add("good");
      await q.idle();
      expect(q.retries("bad")).to.equal(1);
      expect(q.retries("good")).to.equal(0);
      expect(q.waiting, "only the failed key waits").to.equal(1);
    });
  });

  describe("forget", () => {
    it("resets a key's back-off", async () => {
      const q = queue(async () => {
        throw new Error("no");
      }, { baseDelayMs: 10_000 });
      q.add("k");
      await q.idle();
      expect(q.retries("k")).to.equal(1);
      q.forget("k");
      expect(q.retries("k")).to.equal(0);
    });

    it("keeps the earliest of two delayed adds of one key", async () => {
      const ran: number[] = [];
      const q = queue(async () => void ran.push(Date.now()));
      q.addAfter("k", 20);
      q.addAfter("k", 60_000);
      expect(q.waiting).to.equal(1);
      await waitFor(() => ran.length === 1, { what: "the early run" });
      expect(q.waiting).to.equal(0);
    });

    it("drops delayed keys on shutdown", async () => {
      const q = queue(async () => undefined);
      q.addAfter("k", 60_000);
      await q.shutdown();
      expect(q.waiting).to.equal(0);
      q.add("late");
      expect(q.length, "a stopped queue takes nothing").to.equal(0);
    });
  });

  it("lets timers run between keys whose handler never waits for I/O, instead of draining thousands as one task", async () => {
    const count = 5_000;
    let done = 0;
    const q = new WorkQueue(async () => {
      const until = performance.now() + 0.02;
      while (performance.now() < until);
      done++;
    });
    let doneBeforeTimer = -1;
    setTimeout(() => (doneBeforeTimer = done), 0);
    for (let i = 0; i < count; i++) q.add(`k${i}`);
    await q.idle();
    await waitFor(() => doneBeforeTimer >= 0);
    expect(done).to.equal(count);
    expect(doneBeforeTimer, "the timer ran while keys were left").to.be.within(1, count - 1);
  });
});

