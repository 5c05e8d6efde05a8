import { expect } from "chai";
import { Coalesced } from "../../runtime/coalesce.ts";

describe("Coalesced", () => {
  /** A listing whose calls each return the state as it was when the call started, and finish when told. */
  function listing() {
    let state = 0;
    const pending: (() => void)[] = [];
    const c = new Coalesced(() => {
      const seen = state;
      return new Promise<number>((r) => pending.push(() => r(seen)));
    });
    return { c, change: () => state++, finishAll: () => pending.splice(0).forEach((f) => f()), pending };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it("shares one call between callers that ask before it starts again", async () => {
    const l = listing();
    const a = l.c.get();
    const b = [l.c.get(), l.c.get(), l.c.get()];
    l.finishAll();
    await a;
    await tick();
    l.finishAll();
    expect(await Promise.all(b)).to.deep.equal([0, 0, 0]);
    expect(l.c.calls).to.equal(2);
  });
  it("never answers a caller with a call that started before it asked", async () => {
    const l = listing();
    const first = l.c.get();
    l.change(); // e.g. a sandbox created while the first listing was on its way
    const second = l.c.get();
    l.finishAll();
    expect(await first).to.equal(0);
    await tick();
    l.finishAll();
    expect(await second).to.equal(1);
  });
  it("starts afresh after a failed call, and the failure reaches only that call's callers", async () => {
    let fail = true;
    const c = new Coalesced(async () => {
      if (fail) throw new Error("engine gone");
      return "ok";
    });
    const err = await c.get().catch((e: Error) => e.message);
    fail = false;
    expect(err).to.equal("engine gone");
    expect(await c.get()).to.equal("ok");
  });
});
