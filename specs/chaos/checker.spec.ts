import { expect } from "chai";
import type { History, WriteRecord, EventRecord } from "./history.ts";
import { checkHistory, copiesAgree } from "./checker.ts";

let ids = 0;
const w = (kind: WriteRecord["kind"], key: string, marker: string, o: Partial<WriteRecord> = {}): WriteRecord => ({
  id: ++ids, kind, key, marker, outcome: "acked", status: 200, server: "a", sentAt: ids * 10, doneAt: ids * 10 + 5, ...o,
});
const e = (type: EventRecord["type"], key: string, rv: string, marker?: string, stream = 1): EventRecord => ({ stream, type, key, rv, marker, at: 0 });
const checks = (h: Partial<History>) => checkHistory({ writes: [], events: [], streams: [], final: [], ...h }).map((x) => x.check);

describe("chaos history checker", () => {
  it("passes a clean history: creates, an update, a superseded revision the watch skipped, a delete", () => {
    const h: Partial<History> = {
      writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("update", "ns/cm-a", "m2", { rv: "11", baseRv: "10" }), w("update", "ns/cm-a", "m3", { rv: "12", baseRv: "11" }), w("create", "ns/cm-b", "m4", { rv: "13" }), w("delete", "ns/cm-b", "m5", { baseRv: "13" })],
      events: [e("ADDED", "ns/cm-a", "10", "m1"), e("MODIFIED", "ns/cm-a", "12", "m3"), e("ADDED", "ns/cm-b", "13", "m4"), e("DELETED", "ns/cm-b", "14", "m4")],
      final: [{ key: "ns/cm-a", rv: "12", marker: "m3" }],
    };
    expect(checks(h)).to.deep.equal([]);
  });

  it("finds an acknowledged write that nobody ever saw and nothing superseded", () => {
    expect(checks({ writes: [w("create", "ns/cm-a", "m1", { rv: "10" })] })).to.include("acknowledged-write-lost");
  });

  it("finds an acknowledged delete after which the object was still there", () => {
    const h: Partial<History> = { writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("delete", "ns/cm-a", "d", { baseRv: "10" })], events: [e("ADDED", "ns/cm-a", "10", "m1")], final: [{ key: "ns/cm-a", rv: "10", marker: "m1" }] };
    expect(checks(h)).to.include("acknowledged-delete-lost");
  });

  it("finds a value that no write carried, and one whose write was refused", () => {
    const h: Partial<History> = {
      writes: [w("create", "ns/cm-a", "m1", { outcome: "refused", status: 409 })],
      events: [e("ADDED", "ns/cm-a", "10", "m1"), e("ADDED", "ns/cm-b", "11", "zz")],
      final: [{ key: "ns/cm-a", rv: "10", marker: "m1" }, { key: "ns/cm-b", rv: "11", marker: "zz" }],
    };
    const c = checks(h);
    expect(c).to.include("refused-write-applied");
    expect(c).to.include("phantom-write");
  });

  it("leaves out the cluster's own objects in the namespace (kube-root-ca.crt), which no workload write carries", () => {
    const h: Partial<History> = { events: [e("LISTED", "ns/kube-root-ca.crt", "3")], final: [{ key: "ns/kube-root-ca.crt", rv: "3" }] };
    expect(checks(h)).to.deep.equal([]);
  });

  it("accepts an ambiguous write that landed", () => {
    const h: Partial<History> = { writes: [w("create", "ns/cm-a", "m1", { outcome: "ambiguous", status: 0 })], events: [e("ADDED", "ns/cm-a", "10", "m1")], final: [{ key: "ns/cm-a", rv: "10", marker: "m1" }] };
    expect(checks(h)).to.deep.equal([]);
  });

  it("finds the wrong value at an acknowledged revision", () => {
    const h: Partial<History> = { writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("update", "ns/cm-a", "m2", { rv: "11", outcome: "ambiguous" })], events: [e("ADDED", "ns/cm-a", "10", "m2")], final: [{ key: "ns/cm-a", rv: "10", marker: "m2" }] };
    expect(checks(h)).to.include("wrong-value");
  });

  it("finds a write sent after another was acknowledged that got an older revision", () => {
    const h: Partial<History> = {
      writes: [w("update", "ns/cm-a", "m1", { rv: "20", sentAt: 0, doneAt: 5 }), w("update", "ns/cm-a", "m2", { rv: "19", sentAt: 6, doneAt: 9 })],
      events: [e("MODIFIED", "ns/cm-a", "19", "m2"), e("MODIFIED", "ns/cm-a", "20", "m1")],
      final: [{ key: "ns/cm-a", rv: "20", marker: "m1" }],
    };
    expect(checks(h)).to.include("stale-order");
  });

  it("finds a watch that went backwards, delivered an event twice, or ended behind the final state", () => {
    const h: Partial<History> = {
      writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("update", "ns/cm-a", "m2", { rv: "11" }), w("create", "ns/cm-b", "m3", { rv: "12" })],
      events: [e("ADDED", "ns/cm-a", "10", "m1"), e("MODIFIED", "ns/cm-a", "11", "m2"), e("ADDED", "ns/cm-a", "10", "m1"), e("ADDED", "ns/cm-b", "12", "m3", 2)],
      final: [{ key: "ns/cm-a", rv: "11", marker: "m2" }],
    };
    const c = checks(h);
    expect(c).to.include("watch-order");
    expect(c).to.include("watch-duplicate");
    expect(c).to.include("watch-missed-delete");
  });

  it("finds two compare-and-swap writes from one revision that were both acknowledged", () => {
    const h: Partial<History> = {
      writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("update", "ns/cm-a", "m2", { rv: "11", baseRv: "10" }), w("update", "ns/cm-a", "m3", { rv: "12", baseRv: "10" })],
      events: [e("ADDED", "ns/cm-a", "10", "m1"), e("MODIFIED", "ns/cm-a", "11", "m2"), e("MODIFIED", "ns/cm-a", "12", "m3")],
      final: [{ key: "ns/cm-a", rv: "12", marker: "m3" }],
    };
    expect(checks(h)).to.deep.equal(["cas-lost-update"]);
    const refused: Partial<History> = { ...h, writes: [h.writes![0]!, h.writes![1]!, { ...h.writes![2]!, outcome: "refused", status: 409, rv: undefined }], events: h.events!.slice(0, 2), final: [{ key: "ns/cm-a", rv: "11", marker: "m2" }] };
    expect(checks(refused)).to.deep.equal([]);
  });

  it("finds a final state older than an acknowledged write", () => {
    const h: Partial<History> = { writes: [w("create", "ns/cm-a", "m1", { rv: "10" }), w("update", "ns/cm-a", "m2", { rv: "11" })], events: [e("ADDED", "ns/cm-a", "10", "m1"), e("MODIFIED", "ns/cm-a", "11", "m2")], final: [{ key: "ns/cm-a", rv: "10", marker: "m1" }] };
    expect(checks(h)).to.include("final-state-rollback");
  });
});

describe("comparing the servers' copies of a stream", () => {
  const copy = (messages: number, firstSeq: number, lastSeq: number) => ({ messages, firstSeq, lastSeq });
  it("agrees only when every server reported the same messages at the same sequences", () => {
    expect(copiesAgree([copy(160, 10, 200), copy(160, 10, 200), copy(160, 10, 200)], 3)).to.equal(true);
    expect(copiesAgree([copy(160, 10, 200), copy(160, 10, 203), copy(160, 10, 200)], 3)).to.equal(false);
    expect(copiesAgree([copy(160, 10, 200), copy(160, 10, 200)], 3)).to.equal(false);
  });
});
