import { expect } from "chai";
import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

describe("scheduler › TaintToleration filter", () => {
  it("places a pod that tolerates a NoSchedule taint", () => {
    const p = pod("p").tolerate({ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" });
    expectPlaced(cluster([node("a").taint("dedicated", "gpu")]).plan(p), "a");
  });
  it("rejects a node with an untolerated NoSchedule taint, naming it", () => {
    expectUnschedulable(cluster([node("a").taint("dedicated", "gpu")]).plan(pod("p")), { a: ["node(s) had untolerated taint {dedicated: gpu}"] });
  });
  it("rejects a NotReady node through its NoExecute taint", () => {
    const h = cluster([node("a").taint("node.kubernetes.io/not-ready", undefined, "NoExecute"), node("b")]);
    expectPlaced(h.plan(pod("p")), "b");
    expectUnschedulable(cluster([node("a").taint("node.kubernetes.io/unreachable", undefined, "NoExecute")]).plan(pod("p")), {
      a: ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"],
    });
  });
  it("treats an Exists toleration without key as tolerating everything", () => {
    expectPlaced(cluster([node("a").taint("x", "1").taint("y", "2", "NoExecute")]).plan(pod("p").tolerate({ operator: "Exists" })), "a");
  });
  it("does not tolerate a taint of another effect", () => {
    const p = pod("p").tolerate({ key: "k", operator: "Exists", effect: "NoSchedule" });
    expectUnschedulable(cluster([node("a").taint("k", "v", "NoExecute")]).plan(p), { a: ["node(s) had untolerated taint {k: v}"] });
  });
});

describe("scheduler › TaintToleration score", () => {
  it("prefers a node without untolerated PreferNoSchedule taints", () => {
    expectPlaced(cluster([node("a").taint("soft", "1", "PreferNoSchedule"), node("b")]).plan(pod("p")), "b");
  });
  it("does not penalise a PreferNoSchedule taint the pod tolerates", () => {
    const d = cluster([node("a").taint("soft", "1", "PreferNoSchedule"), node("b")]).plan(pod("p").tolerate({ key: "soft", operator: "Exists" }));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("a")).to.equal(d.scores.get("b"));
  });
});
