import { expect } from "chai";
import type { Event, KubeObject, ObjectReference } from "../../bus/resources.ts";
import { COMBINED_PREFIX, EventRecorder } from "../../runtime/events.ts";

/** The store as the recorder uses it, keeping the Events it holds. */
function eventStore(o: { failPatch?: boolean } = {}) {
  const events = new Map<string, Event>();
  return {
    events,
    store: {
      create: async <T extends KubeObject>(_r: string, _ns: string | undefined, ev: KubeObject) => (events.set(ev.metadata.name!, structuredClone(ev) as Event), ev as T),
      patch: async <T extends KubeObject>(_r: string, _ns: string | undefined, name: string, _t: string, patch: unknown) => {
        const ev = events.get(name);
        if (!ev || o.failPatch) throw new Error(`events "${name}" not found`);
        Object.assign(ev, patch);
        return ev as unknown as T;
      },
    },
  };
}

const pod: ObjectReference = { kind: "Pod", apiVersion: "v1", namespace: "default", name: "web-1", uid: "u1" };

describe("event recorder", () => {
  it("writes a repeated event once, with its count and last timestamp", async () => {
    let now = Date.parse("2026-03-01T12:00:00Z");
    const s = eventStore();
    const rec = new EventRecorder({ store: s.store, source: { component: "kubelet", host: "n1" }, now: () => now });
    rec.record(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await rec.flush();
    now += 30_000;
    rec.record(pod, "Warning", "BackOff", "Back-off restarting failed container");
    rec.record(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await rec.flush();
    const all = [...s.events.values()];
    expect(all).to.have.length(1);
    expect(all[0]).to.deep.include({ count: 3, firstTimestamp: "2026-03-01T12:00:00Z", lastTimestamp: "2026-03-01T12:00:30Z", reason: "BackOff" });
    expect(all[0]!.source).to.deep.equal({ component: "kubelet", host: "n1" });
  });

  it("keeps events with different messages apart", async () => {
    const s = eventStore();
    const rec = new EventRecorder({ store: s.store, source: { component: "replicaset-controller" } });
    rec.record(pod, "Normal", "SuccessfulCreate", "Created pod: web-a");
    rec.record(pod, "Normal", "SuccessfulCreate", "Created pod: web-b");
    await rec.flush();
    expect([...s.events.values()].map((e) => e.message).sort()).to.deep.equal(["Created pod: web-a", "Created pod: web-b"]);
  });

  it("combines more than ten similar events of one object into one", async () => {
    const s = eventStore();
    const rec = new EventRecorder({ store: s.store, source: { component: "default-scheduler" } });
    for (let i = 0; i < 15; i++) rec.record(pod, "Warning", "FailedScheduling", `0/${i} nodes are available`);
    await rec.flush();
    const all = [...s.events.values()];
    expect(all).to.have.length(11);
    const combined = all.filter((e) => e.message!.startsWith(COMBINED_PREFIX));
    expect(combined).to.have.length(1);
    expect(combined[0]).to.deep.include({ count: 5, message: `${COMBINED_PREFIX}0/14 nodes are available` });
  });

  it("writes a new Event when the one it would count on is gone", async () => {
    const s = eventStore({ failPatch: true });
    const rec = new EventRecorder({ store: s.store, source: { component: "node-controller" } });
    rec.record(pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod default/web-1");
    await rec.flush();
    rec.record(pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod default/web-1");
    await rec.flush();
    expect([...s.events.values()].map((e) => e.count)).to.deep.equal([1, 1]);
  });

  it("drops events beyond its bound instead of queueing without limit", async () => {
    const s = eventStore();
    const rec = new EventRecorder({ store: s.store, source: { component: "spec" }, maxPending: 2, concurrency: 1 });
    for (let i = 0; i < 5; i++) rec.record({ ...pod, name: `p${i}`, uid: `u${i}` }, "Normal", "Started", "Started container c");
    await rec.flush();
    expect(s.events.size + rec.dropped).to.equal(5);
    expect(rec.dropped).to.be.greaterThan(0);
  });
});
