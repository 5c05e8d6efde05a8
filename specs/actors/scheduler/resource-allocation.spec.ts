import { expect } from "chai";
import { cluster, node, pod, expectPlaced } from "./harness.ts";

describe("scheduler › least-allocated score", () => {
  it("prefers the node with the most free capacity", () => {
    const h = cluster([node("a"), node("b")], [pod("x").cpu("3").memory("6Gi").on("a")]);
    expectPlaced(h.plan(pod("p").cpu("500m").memory("512Mi")), "b");
  });
  it("ranks equally loaded nodes equally", () => {
    const d = cluster([node("a"), node("b")]).plan(pod("p").cpu("1"));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("a")).to.equal(d.scores.get("b"));
  });
});

describe("scheduler › balanced-allocation score", () => {
  it("prefers the node where cpu and memory use stay balanced", () => {
    // Both nodes have the same total free share; a is cpu-heavy already, b is balanced.
    const h = cluster(
      [node("a").cpu("4").memory("4Gi"), node("b").cpu("4").memory("4Gi")],
      [pod("x").cpu("2").on("a").memory("1"), pod("y").cpu("1").memory("1Gi").on("b")],
    );
    const d = h.plan(pod("p").cpu("1").memory("1Gi"));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("b")!).to.be.greaterThan(d.scores.get("a")!);
  });
  it("ranks two equally balanced nodes equally", () => {
    const h = cluster([node("a"), node("b")], [pod("x").cpu("1").memory("2Gi").on("a"), pod("y").cpu("1").memory("2Gi").on("b")]);
    const d = h.plan(pod("p").cpu("1").memory("2Gi"));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("a")).to.equal(d.scores.get("b"));
  });
});
