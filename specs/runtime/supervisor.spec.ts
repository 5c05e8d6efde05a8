import { expect } from "chai";
import { Supervisor } from "../../runtime/supervisor.ts";
import { quietLog } from "../harness/quiet-log.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the actor supervisor", () => {
  it("restarts an actor whose start fails, after its back-off", async () => {
    let starts = 0;
    const s = new Supervisor({
      log: quietLog,
      baseDelayMs: 10,
      start: async () => {
        if (++starts === 1) throw new Error("store timeout");
        return { stop: async () => undefined };
      },
    });
    await s.start();
    await sleep(60);
    expect(starts).to.equal(2);
    expect(s.restartCount).to.equal(1);
    await s.stop();
  });

  it("does not count a failure while the actor is being taken down (its leader's term ended) as a crash", async () => {
    let starts = 0;
    let termEnded = false;
    const s = new Supervisor({
      log: quietLog,
      baseDelayMs: 10,
      ending: () => termEnded,
      start: async () => {
        starts++;
        termEnded = true;
        throw new Error("scheduler-1 no longer leads: its term 2 of lease kube-system/scheduler has ended");
      },
    });
    await s.start();
    await sleep(60);
    expect(starts).to.equal(1);
    expect(s.restartCount).to.equal(0);
    await s.stop();
    // The next term starts it again.
    termEnded = false;
    await s.start().catch(() => undefined);
    expect(starts).to.equal(2);
    await s.stop();
  });
});
