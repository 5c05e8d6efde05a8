import { expect } from "chai";
import type { Lease } from "../../bus/resources.ts";
import type { LeaderTerm } from "../../runtime/leader.ts";
import type { FakeLink } from "./leader-fakes.ts";
import { LeaderElector, leaderTiming } from "../../runtime/leader.ts";
import { FakeClock, FakeLeaseStore, quietLog } from "./leader-fakes.ts";

// Round numbers: a standby waits 3 s, a leader stops 2 s after its last confirmed renewal was sent.
const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
const WALL_START = Date.parse("2030-01-01T00:00:00Z");

interface Replica {
  e: LeaderElector;
  link: FakeLink;
  terms: LeaderTerm[];
  started: number[];
  stopped: { at: number; reason: string; clock: number }[];
}

function replica(clock: FakeClock, store: FakeLeaseStore, name: string, onStopped?: () => Promise<void>): Replica {
  const link = store.link(name);
  const r: Replica = { link, terms: [], started: [], stopped: [], e: undefined as unknown as LeaderElector };
  r.e = new LeaderElector({
    ...TIMING,
    store: link,
    name: "ctl",
    identity: name,
    log: quietLog,
    clock,
    wallNow: () => WALL_START + clock.now(),
    onStarted: (t) => {
      r.terms.push(t);
      r.started.push(clock.now());
    },
    onStopped: (reason, at) => {
      r.stopped.push({ at, reason, clock: clock.now() });
      return onStopped?.();
    },
  });
  return r;
}

function ghostLease(store: FakeLeaseStore, holder: string, renewTime = "2020-01-01T00:00:00.000000Z"): Lease {
  return store.put({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "ctl", namespace: "kube-system" },
    spec: { holderIdentity: holder, leaseDurationSeconds: 3, renewTime, leaseTransitions: 4 },
  });
}

describe("leader election", () => {
  let clock: FakeClock;
  let store: FakeLeaseStore;
  const running: LeaderElector[] = [];
  const start = (r: Replica) => (running.push(r.e), r.e.start(), r);

  beforeEach(() => {
    clock = new FakeClock();
    store = new FakeLeaseStore(clock);
  });
  afterEach(async () => {
    const stopping = running.splice(0).map((e) => e.stop());
    await clock.advance(10_000);
    await Promise.all(stopping);
  });

  describe("timing", () => {
    it("keeps client-go's proportions on Flotilla's 5 s lease: renew deadline 3333 ms, retry period 667 ms", () => {
      expect(leaderTiming()).to.deep.equal({ leaseDurationMs: 5000, renewDeadlineMs: 3333, retryPeriodMs: 667 });
      expect(leaderTiming({ leaseDurationMs: 2000 })).to.deep.equal({ leaseDurationMs: 2000, renewDeadlineMs: 1333, retryPeriodMs: 267 });
    });
    it("refuses a renew deadline that is not shorter than the lease duration", () => {
      expect(() => leaderTiming({ leaseDurationMs: 2000, renewDeadlineMs: 2000 })).to.throw(/renewDeadline < leaseDuration/);
      expect(() => leaderTiming({ leaseDurationMs: 2000, renewDeadlineMs: 500, retryPeriodMs: 500 })).to.throw(/retryPeriod < renewDeadline/);
    });
  });

  it("acquires a lease nobody holds at once, as term 0, and acts for a renew deadline from sending it", async () => {
    const a = start(replica(clock, store, "a"));
    await clock.advance(0);
    expect(a.started).to.deep.equal([0]);
    expect(a.e.isLeader).to.equal(true);
    expect(a.terms[0]!.fence).to.deep.equal({ lease: "ctl", holder: "a", term: 0 });
    expect(a.terms[0]!.remainingMs()).to.equal(2000);
    const l = store.leases.get("ctl")!;
    expect(l.spec).to.include({ holderIdentity: "a", leaseDurationSeconds: 3, leaseTransitions: 0, renewTime: "2030-01-01T00:00:00.000000Z" });
  });

  it("renews every retry period, each call timing out before its renew deadline, and leads for longer than a lease", async () => {
    const a = start(replica(clock, store, "a"));
    await clock.advance(10_000);
    expect(a.e.isLeader).to.equal(true);
    expect(a.stopped).to.deep.equal([]);
    const writes = store.calls.filter((c) => c.by === "a" && c.op !== "get");
    expect(writes.length).to.be.within(20, 21);
    for (let i = 1; i < writes.length; i++) {
      const validUntil = writes[i - 1]!.at + 2000; // the previous renewal was confirmed at once
      expect(writes[i]!.timeoutMs, `renewal ${i}`).to.be.below(validUntil - writes[i]!.at);
    }
    expect(store.leases.get("ctl")!.spec.renewTime).to.equal(new Date(WALL_START + writes.at(-1)!.at).toISOString().replace("Z", "000Z"));
  });

  it("steps down at the renew deadline when renewals go unanswered, before the standby may take the lease", async () => {
    const a = start(replica(clock, store, "a"));
    await clock.advance(0);
    a.link.answerAfterMs = 300; // each renewal is confirmed 300 ms after it was sent
    const b = start(replica(clock, store, "b"));
    await clock.advance(1200);
    a.link.cut = true; // a's network freezes: its calls are neither delivered nor answered
    const lastSent = store.calls.filter((c) => c.by === "a" && c.op === "update").at(-1)!.at;
    const taken = await clock.until(() => b.e.isLeader, 10_000);

    expect(a.stopped).to.have.length(1);
    expect(a.stopped[0]!.at).to.equal(lastSent + 2000);
    expect(a.stopped[0]!.clock).to.equal(lastSent + 2000);
    expect(a.stopped[0]!.reason).to.match(/renew deadline/);
    expect(a.terms[0]!.signal.aborted).to.equal(true);
    expect(a.terms[0]!.remainingMs()).to.be.at.most(0);
    // The standby counted a whole lease from when it first read a's last renewal (at or after it was sent).
    expect(taken).to.be.at.least(lastSent + 3000);
    expect(taken - a.stopped[0]!.at).to.be.at.least(3000 - 2000);
    expect(b.terms[0]!.fence).to.deep.equal({ lease: "ctl", holder: "b", term: 1 });
    // a's calls while cut off all gave up before its deadline.
    for (const c of store.calls.filter((x) => x.by === "a" && x.at > lastSent && x.at < lastSent + 2000)) {
      expect(c.at + c.timeoutMs).to.be.below(lastSent + 2000);
    }

    // Healed, a's held calls arrive late: they change nothing, and a stays a standby.
    a.link.answerAfterMs = 0;
    a.link.heal();
    await clock.advance(5000);
    expect(a.started).to.have.length(1);
    expect(a.e.isLeader).to.equal(false);
    expect(b.e.isLeader).to.equal(true);
    expect(store.leases.get("ctl")!.spec.holderIdentity).to.equal("b");
  });

  it("does not count a renewal answered after the deadline, and takes its own lease back as a new term", async () => {
    const a = start(replica(clock, store, "a"));
    await clock.advance(1000);
    a.link.answerAfterMs = 2500; // applied at once, answered too late
    await clock.until(() => a.stopped.length === 1, 5000);
    expect(a.terms[0]!.signal.aborted).to.equal(true);
    a.link.answerAfterMs = 0;
    await clock.until(() => a.e.isLeader, 5000);
    expect(a.terms.map((t) => t.fence.term)).to.deep.equal([0, 1]);
    expect(a.terms[0]!.remainingMs()).to.be.at.most(0);
    expect(a.terms[1]!.remainingMs()).to.be.above(0);
    expect(store.leases.get("ctl")!.spec).to.include({ holderIdentity: "a", leaseTransitions: 1 });
  });

  it("a standby takes over only after seeing the lease unchanged for a lease duration on its own clock, whatever renewTime says", async () => {
    ghostLease(store, "ghost"); // renewTime years ago: a wall clock would call it expired
    const b = start(replica(clock, store, "b"));
    await clock.advance(2000);
    expect(b.e.isLeader).to.equal(false);
    ghostLease(store, "ghost", "2020-01-01T00:00:01.000000Z"); // the holder renews once more
    const taken = await clock.until(() => b.e.isLeader, 10_000);
    expect(taken).to.be.within(2000 + 3000, 2000 + 3000 + 2 * TIMING.retryPeriodMs);
    expect(b.terms[0]!.fence.term).to.equal(5);
    expect(store.leases.get("ctl")!.spec.acquireTime).to.equal(new Date(WALL_START + taken).toISOString().replace("Z", "000Z"));
  });

  it("takes a released lease at once", async () => {
    ghostLease(store, "");
    const b = start(replica(clock, store, "b"));
    await clock.advance(0);
    expect(b.started).to.deep.equal([0]);
  });

  it("on stop, stops its actor first, then releases the lease, and the standby takes over within a retry period", async () => {
    let actorStopped = -1;
    const a = start(replica(clock, store, "a", () => new Promise<void>((r) => clock.after(300, () => ((actorStopped = clock.now()), r())))));
    await clock.advance(0);
    const b = start(replica(clock, store, "b"));
    await clock.advance(2000);
    const stopAt = clock.now();
    const stopped = a.e.stop();
    running.splice(running.indexOf(a.e), 1);
    expect(a.e.isLeader).to.equal(false);
    expect(a.terms[0]!.signal.aborted).to.equal(true);
    const taken = await clock.until(() => b.e.isLeader, 3000);
    await stopped;
    const release = store.calls.find((c) => c.by === "a" && c.op === "update" && c.lease?.spec.holderIdentity === "");
    expect(release, "a released the lease").to.not.equal(undefined);
    expect(actorStopped).to.equal(stopAt + 300);
    expect(release!.at).to.be.at.least(actorStopped);
    expect(taken).to.be.at.most(release!.at + TIMING.retryPeriodMs);
    expect(taken - stopAt).to.be.below(TIMING.leaseDurationMs);
    expect(b.terms[0]!.fence.term).to.equal(1);
  });

  it("a standby that stops writes nothing", async () => {
    ghostLease(store, "ghost");
    const b = start(replica(clock, store, "b"));
    await clock.advance(1000);
    const stopped = b.e.stop();
    running.splice(running.indexOf(b.e), 1);
    await clock.advance(1000);
    await stopped;
    expect(store.calls.filter((c) => c.by === "b" && c.op !== "get")).to.deep.equal([]);
    expect(b.stopped).to.deep.equal([]);
  });
});
