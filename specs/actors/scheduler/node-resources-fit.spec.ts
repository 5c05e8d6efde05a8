import { expect } from "chai";
import { podInfo } from "../../../actors/scheduler/pod-info.ts";
import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

describe("scheduler › NodeResourcesFit filter", () => {
  it("places a pod whose requests fit what is left on the node", () => {
    const h = cluster([node("a").cpu("2").memory("2Gi")], [pod("x").cpu("1").memory("1Gi").on("a")]);
    expectPlaced(h.plan(pod("p").cpu("1").memory("1Gi")), "a");
  });
  it("rejects a node without enough cpu left", () => {
    const h = cluster([node("a").cpu("2")], [pod("x").cpu("1500m").on("a")]);
    expectUnschedulable(h.plan(pod("p").cpu("1")), { a: ["Insufficient cpu"] });
  });
  it("reports both cpu and memory when both are short", () => {
    const h = cluster([node("a").cpu("1").memory("1Gi")]);
    expectUnschedulable(h.plan(pod("p").cpu("2").memory("2Gi")), { a: ["Insufficient cpu", "Insufficient memory"] });
  });
  it("rejects a node that already runs its maximum number of pods", () => {
    const h = cluster([node("a").pods(1)], [pod("x").on("a")]);
    expectUnschedulable(h.plan(pod("p")), { a: ["Too many pods"] });
  });
  it("does not count finished pods against the node", () => {
    const h = cluster([node("a").cpu("1")], [pod("x").cpu("1").on("a").phase("Succeeded")]);
    expectPlaced(h.plan(pod("p").cpu("1")), "a");
  });
  it("counts an assumed pod at once and frees it when forgotten", () => {
    const h = cluster([node("a").cpu("1")]);
    const d = h.plan(pod("first").cpu("1"));
    expectPlaced(d, "a");
    h.snap.assume(podInfo(pod("first").cpu("1").build()), "a");
    expect(h.snap.node("a")!.requested.cpu).to.equal(1000);
    expectUnschedulable(h.plan(pod("second").cpu("1")), { a: ["Insufficient cpu"] });
    h.snap.forget("default/first");
    expect(h.snap.node("a")!.requested.cpu).to.equal(0);
    expectPlaced(h.plan(pod("second").cpu("1")), "a");
  });
});

