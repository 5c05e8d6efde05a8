import { expect } from "chai";
import * as packet from "dns-packet";
import { AnswerCache } from "../../../actors/dns/answer-cache.ts";

const query = (id: number, name: string, type: packet.RecordType = "A", o: { rd?: boolean; edns?: boolean } = {}) =>
  packet.encode({
    id,
    type: "query",
    flags: o.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...(o.edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as packet.Answer] } : {}),
  });

/** What the server would have answered: the question as asked, one A record. */
const answerFor = (raw: Buffer, ip: string) => {
  const q = packet.decode(raw);
  return packet.encode({
    id: q.id,
    type: "response",
    flags: packet.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & packet.RECURSION_DESIRED),
    questions: q.questions,
    answers: [{ name: q.questions![0]!.name.toLowerCase(), type: "A", ttl: 5, class: "IN", data: ip }],
  });
};

describe("dns answer cache", () => {
  it("answers the same question in another case with the stored records, the query's id and the query's spelling", () => {
    const c = new AnswerCache();
    const first = query(1, "web.default.svc.cluster.local");
    expect(c.get(first, true)).to.equal(undefined);
    c.set(first, true, answerFor(first, "10.96.0.50"));
    const second = query(4242, "WeB.DeFAULT.svc.Cluster.Local");
    const hit = packet.decode(c.get(second, true)!);
    expect(hit.id).to.equal(4242);
    expect(hit.type).to.equal("response");
    expect(hit.questions).to.deep.equal([{ name: "WeB.DeFAULT.svc.Cluster.Local", type: "A", class: "IN" }]);
    expect(hit.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(["10.96.0.50"]);
  });

  it("keeps apart what the answer depends on: type, the RD flag and the transport", () => {
    const c = new AnswerCache();
    const a = query(1, "web.default.svc.cluster.local", "A");
    c.set(a, true, answerFor(a, "10.96.0.50"));
    expect(c.get(query(2, "web.default.svc.cluster.local", "AAAA"), true)).to.equal(undefined);
    expect(c.get(query(3, "web.default.svc.cluster.local", "A", { rd: false }), true)).to.equal(undefined);
    expect(c.get(query(4, "web.default.svc.cluster.local", "A"), false)).to.equal(undefined);
    expect(c.get(query(5, "web.default.svc.cluster.local", "A", { edns: true }), true), "an EDNS query gets the same answer").to.not.equal(undefined);
  });

  it("does not serve responses, multi-question queries, compressed or non-ASCII names", () => {
    const c = new AnswerCache();
    const a = query(1, "web.default.svc.cluster.local");
    c.set(a, true, answerFor(a, "10.96.0.50"));
    const response = Buffer.from(a);
    response.writeUInt16BE(0x8100, 2);
    expect(c.get(response, true)).to.equal(undefined);
    const two = packet.encode({ id: 9, type: "query", questions: [{ name: "web.default.svc.cluster.local", type: "A" }, { name: "x", type: "A" }] });
    expect(c.get(two, true)).to.equal(undefined);
    const pointer = Buffer.concat([a.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    expect(c.get(pointer, true)).to.equal(undefined);
    const latin = Buffer.from(a);
    latin[13] = 0xc9; // 'É' is not folded: another name
    expect(c.get(latin, true)).to.equal(undefined);
    expect(c.get(Buffer.from([1, 2, 3]), true)).to.equal(undefined);
  });

  it("forgets everything when the zone changes", () => {
    const c = new AnswerCache();
    const a = query(1, "web.default.svc.cluster.local");
    c.set(a, true, answerFor(a, "10.96.0.50"));
    c.clear();
    expect(c.get(query(2, "web.default.svc.cluster.local"), true)).to.equal(undefined);
    expect(c.size).to.equal(0);
  });
});
