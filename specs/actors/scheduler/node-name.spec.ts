import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

describe("scheduler › NodeName filter", () => {
  it("places a pod that names a node on that node", () => {
    expectPlaced(cluster([node("a"), node("b")]).plan(pod("p").on("b")), "b");
  });
  it("rejects every other node", () => {
    expectUnschedulable(cluster([node("a")]).plan(pod("p").on("b")), { a: ["node(s) didn't match the requested node name"] });
  });
});
