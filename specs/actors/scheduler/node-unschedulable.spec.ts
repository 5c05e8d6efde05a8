import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

describe("scheduler › NodeUnschedulable filter", () => {
  it("places a pod on a node that is not cordoned", () => {
    expectPlaced(cluster([node("a")]).plan(pod("p")), "a");
  });
  it("rejects a cordoned node", () => {
    expectUnschedulable(cluster([node("a").cordon()]).plan(pod("p")), { a: ["node(s) were unschedulable"] });
  });
  it("places a pod that tolerates the unschedulable taint on a cordoned node", () => {
    const p = pod("p").tolerate({ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" });
    expectPlaced(cluster([node("a").cordon()]).plan(p), "a");
  });
});
