import { expect } from "chai";
import { SchedulingQueue } from "../../../actors/scheduler/queue.ts";

function clockQueue() {
  let t = 0;
  const q = new SchedulingQueue({ now: () => t, initialBackoffMs: 1000, maxBackoffMs: 4000, maxUnschedulableMs: 60_000 });
  return { q, advance: (ms: number) => (t += ms) };
}

describe("scheduler › queue", () => {
  it("pops higher priority first, then older pods first", () => {
    const { q } = clockQueue();
    q.add({ key: "ns/new", priority: 0, creation: 20 });
    q.add({ key: "ns/old", priority: 0, creation: 10 });
    q.add({ key: "ns/vip", priority: 100, creation: 30 });
    expect([q.pop()!.key, q.pop()!.key, q.pop()!.key]).to.deep.equal(["ns/vip", "ns/old", "ns/new"]);
    expect(q.pop()).to.equal(undefined);
  });

  it("does not hand out a pod twice while it is being tried", () => {
    const { q } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    q.pop();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    expect(q.pop()).to.equal(undefined);
  });

  it("keeps an unschedulable pod until a cluster event moves it", () => {
    const { q, advance } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    q.requeueUnschedulable(q.pop()!);
    advance(5000);
    expect(q.pop()).to.equal(undefined);
    q.moveAllToActiveOrBackoff();
    expect(q.pop()!.key).to.equal("ns/p");
  });

  it("retries an unschedulable pod after maxUnschedulableMs without any event", () => {
    const { q, advance } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    q.requeueUnschedulable(q.pop()!);
    expect(q.nextWakeInMs()).to.equal(60_000);
    advance(60_000);
    expect(q.pop()!.key).to.equal("ns/p");
  });

  it("backs off exponentially, capped, after failed attempts", () => {
    const { q, advance } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.requeueBackoff(q.pop()!);
      waits.push(q.nextWakeInMs()!);
      advance(waits[i]! - 1);
      expect(q.pop()).to.equal(undefined);
      advance(1);
    }
    expect(waits).to.deep.equal([1000, 2000, 4000, 4000]);
  });

  it("sends a pod that failed while the cluster changed to backoff, not to unschedulable", () => {
    const { q, advance } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    const p = q.pop()!;
    q.moveAllToActiveOrBackoff(); // a node was added during the attempt
    q.requeueUnschedulable(p);
    advance(1000);
    expect(q.pop()!.key).to.equal("ns/p");
  });

  it("forgets a deleted pod", () => {
    const { q } = clockQueue();
    q.add({ key: "ns/p", priority: 0, creation: 0 });
    q.delete("ns/p");
    expect(q.length).to.equal(0);
    expect(q.pop()).to.equal(undefined);
  });
});
