import { expect } from "chai";
import { Semaphore } from "../../runtime/semaphore.ts";

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const tick = () => new Promise((r) => setImmediate(r));

describe("Semaphore", () => {
  it("runs at most `limit` operations at once and starts the waiting ones in arrival order", async () => {
    const s = new Semaphore(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) => s.run(async () => {
      started.push(i);
      await g.promise;
      return i;
    }));
    await tick();
    expect(started).to.deep.equal([0, 1]);
    expect(s.inFlight).to.equal(2);
    gates[1]!.resolve();
    await tick();
    expect(started).to.deep.equal([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    gates[3]!.resolve();
    expect(await Promise.all(runs)).to.deep.equal([0, 1, 2, 3]);
    expect(s.inFlight).to.equal(0);
  });
  it("frees the slot when an operation fails", async () => {
    const s = new Semaphore(1);
    await s.run(() => Promise.reject(new Error("refused"))).catch(() => undefined);
    expect(await s.run(async () => "next")).to.equal("next");
    expect(s.inFlight).to.equal(0);
  });
  it("does not limit with a limit of 0", async () => {
    const s = new Semaphore(0);
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((g) => s.run(() => g.promise));
    await tick();
    expect(s.inFlight).to.equal(3);
    for (const g of gates) g.resolve();
    await Promise.all(runs);
  });
});
