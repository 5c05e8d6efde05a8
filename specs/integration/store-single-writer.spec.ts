/**
 * A replicated bucket has one writer (actors/store/kv-writer.ts): on three nats-server processes
 * (the installed 2.9.10 on Debian 12), eight writers race compare-and-swap updates on ten keys
 * through three store writers, one per server, while the stream leader's server and then another
 * are SIGKILLed and restarted. Stale writes are refused (by the writer, before JetStream), and once
 * writes stop every server's copy of the stream is the same. The same race straight to JetStream
 * (`npm run chaos:nats -- --writes racing`) leaves the restarted servers' copies shifted on 2.9.10.
 * Without the single writer each replica checks a create at the stream leader before publishing it
 * (JetStream checks an expected sequence of 0 only as it applies a write).
 */
import { expect } from "chai";
import { replay } from "../chaos/nats-cas-replay.ts";

describe("store writes to a replicated bucket (three nats-servers)", function () {
  this.timeout(120_000);

  it("refuses stale compare-and-swap writes itself, so each server's copy survives SIGKILL and restart unchanged", async () => {
    const r = await replay({ writes: "through-writer", kills: 2 });
    expect(r.kills).to.have.length(2);
    expect(r.kills[0]!.wasLeader).to.equal(true);
    expect(r.acked).to.be.greaterThan(100);
    // The writers did race: some writes were stale and refused.
    expect(r.casFailed).to.be.greaterThan(0);
    expect(r.copies).to.have.length(3);
    expect(r.agree, JSON.stringify(r.copies)).to.equal(true);
  });

  it("without the single writer, checks each create at the stream leader first, so creates of keys that exist leave every copy unchanged by SIGKILL and restart", async () => {
    // Straight to JetStream (`--writes creating`) the same creates are refused only as each server
    // applies them, and the restarted servers' copies come back shifted on 2.9.10.
    const r = await replay({ writes: "creating-checked", kills: 2 });
    expect(r.kills[0]!.wasLeader).to.equal(true);
    expect(r.acked).to.be.greaterThan(100);
    expect(r.casFailed).to.be.greaterThan(100);
    expect(r.agree, JSON.stringify(r.copies)).to.equal(true);
  });
});
