import { expect } from "chai";
import { longTasks, sliceProfile, summarizeProfile } from "../../bench/lib/cpu-profile.ts";

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });

describe("bench cpu profile", () => {
  it("finds the tasks that held the event loop: samples under one entry with no idle between, garbage collection included", () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 4, 5] },
        { id: 2, callFrame: frame("processTicksAndRejections", "node:internal/process/task_queues") , children: [3] },
        { id: 3, callFrame: frame("reconcile", "file:///p/actors/x/pass.ts") },
        { id: 4, callFrame: frame("(idle)") },
        { id: 5, callFrame: frame("(garbage collector)") },
      ],
      // 100 ms apart: a task of four samples (one of them GC), idle, then a task of one sample.
      samples: [3, 3, 5, 3, 4, 3],
      timeDeltas: [100_000, 100_000, 100_000, 100_000, 100_000, 100_000],
    };
    const tasks = longTasks(profile, 300);
    expect(tasks).to.have.length(1);
    expect(tasks[0]!.ms).to.equal(400);
    expect(tasks[0]!.atS).to.equal(0.1);
    expect(tasks[0]!.entry).to.contain("processTicksAndRejections");
    expect(tasks[0]!.inside).to.deep.equal([["reconcile actors/x/pass.ts", 0.75]]);
    expect(longTasks(profile, 500)).to.deep.equal([]);
  });

  it("slices a long run's profile to a stretch of seconds, so a slowdown is profiled apart from the start", () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 3] },
        { id: 2, callFrame: frame("early", "file:///p/a.ts") },
        { id: 3, callFrame: frame("late", "file:///p/b.ts") },
      ],
      // one sample a second: four of `early`, then four of `late`
      samples: [2, 2, 2, 2, 3, 3, 3, 3],
      timeDeltas: Array(8).fill(1_000_000),
    };
    const late = sliceProfile(profile, 5);
    expect(late.samples).to.deep.equal([3, 3, 3, 3]);
    expect(summarizeProfile(late).totalMs).to.equal(4000);
    expect(sliceProfile(profile, 2, 6).samples).to.deep.equal([2, 2, 2, 3]);
    expect(sliceProfile(profile, 0).samples).to.have.length(8);
  });
});
