import { expect } from "chai";
import { cluster, node, pod, expectPlaced } from "./harness.ts";
import { fitErrorMessage, numFeasibleNodesToFind, schedule } from "../../../actors/scheduler/schedule.ts";
import { podInfo } from "../../../actors/scheduler/pod-info.ts";

describe("scheduler › schedule", () => {
  it("looks at every node below 100 nodes and at an adaptive share above", () => {
    expect(numFeasibleNodesToFind(50)).to.equal(50);
    expect(numFeasibleNodesToFind(1000)).to.equal(420); // 50 − 1000/125 = 42 %
    expect(numFeasibleNodesToFind(5000)).to.equal(500); // 10 %
    expect(numFeasibleNodesToFind(100_000)).to.equal(5000); // floor of 5 %
    expect(numFeasibleNodesToFind(5000, 1)).to.equal(100); // never fewer than 100
    expect(numFeasibleNodesToFind(5000, 100)).to.equal(5000);
  });

  it("stops after enough feasible nodes and reports how many it considered", () => {
    const h = cluster(Array.from({ length: 300 }, (_, i) => node(`n${i}`)));
    const d = schedule(h.snap, podInfo(pod("p").build()), { percentageOfNodesToScore: 50, startIndex: 10 });
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.considered).to.equal(150);
    expect(d.scores.size).to.equal(150);
    expect(d.scores.has("n10")).to.equal(true);
    expect(d.scores.has("n9")).to.equal(false);
  });

  it("filters every node it considers even when the feasible ones are rare", () => {
    const nodes = Array.from({ length: 300 }, (_, i) => (i === 299 ? node(`n${i}`) : node(`n${i}`).taint("busy", "yes")));
    const d = cluster(nodes).plan(pod("p"), { percentageOfNodesToScore: 10 });
    expectPlaced(d, "n299");
  });

  it("reports a reason for every node when nothing fits", () => {
    const h = cluster([node("a").cpu("1"), node("b").cpu("1"), node("c").cpu("1"), node("d").taint("k", "v"), node("e").taint("k", "v")]);
    const d = h.plan(pod("p").cpu("2"));
    if (!("reasons" in d)) expect.fail("placed");
    expect(d.reasons.size).to.equal(5);
    expect(fitErrorMessage(5, d.reasons)).to.equal(
      "0/5 nodes are available: 2 node(s) had untolerated taint {k: v}, 3 Insufficient cpu. " +
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.",
    );
  });

  it("says there are no nodes when the cluster has none", () => {
    const d = cluster([]).plan(pod("p"));
    expect("reasons" in d && d.reasons.size).to.equal(0);
    expect(fitErrorMessage(0, new Map())).to.equal("no nodes available to schedule pods");
  });

  it("breaks ties at random among the best nodes when given a random source", () => {
    const h = cluster([node("a"), node("b"), node("c")]);
    const picked = new Set<string>();
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 30; i++) {
      const d = h.plan(pod(`p${i}`), { random });
      if ("node" in d) picked.add(d.node);
    }
    expect([...picked].sort()).to.deep.equal(["a", "b", "c"]);
  });
});
