import { expect } from "chai";
import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

const R = "node(s) didn't match Pod's node affinity/selector";

describe("scheduler › nodeSelector (NodeAffinity filter)", () => {
  it("places a pod on a node whose labels match its nodeSelector", () => {
    expectPlaced(cluster([node("a"), node("b").label("disk", "ssd")]).plan(pod("p").nodeSelector({ disk: "ssd" })), "b");
  });
  it("rejects a node whose labels do not match", () => {
    expectUnschedulable(cluster([node("a").label("disk", "hdd")]).plan(pod("p").nodeSelector({ disk: "ssd" })), { a: [R] });
  });
});

describe("scheduler › required node affinity (NodeAffinity filter)", () => {
  const nodes = () => [node("a").label("tier", "web").label("gen", "3"), node("b").label("tier", "db").label("gen", "5"), node("c")];
  const cases: [string, Parameters<ReturnType<typeof pod>["requireNode"]>[0], string[]][] = [
    ["In", { key: "tier", operator: "In", values: ["db"] }, ["b"]],
    ["NotIn", { key: "tier", operator: "NotIn", values: ["db"] }, ["a", "c"]],
    ["Exists", { key: "tier", operator: "Exists" }, ["a", "b"]],
    ["DoesNotExist", { key: "tier", operator: "DoesNotExist" }, ["c"]],
    ["Gt", { key: "gen", operator: "Gt", values: ["4"] }, ["b"]],
    ["Lt", { key: "gen", operator: "Lt", values: ["4"] }, ["a"]],
  ];
  for (const [op, expr, fits] of cases) {
    it(`keeps exactly the nodes matching operator ${op}`, () => {
      const d = cluster(nodes()).plan(pod("p").requireNode(expr));
      expect("node" in d && fits.includes(d.node), JSON.stringify(d)).to.equal(true);
      const feasible = "scores" in d ? [...d.scores.keys()].sort() : [];
      expect(feasible).to.deep.equal(fits);
    });
  }
  it("rejects every node when no term matches", () => {
    const d = cluster([node("a").label("tier", "web")]).plan(pod("p").requireNode({ key: "tier", operator: "In", values: ["db"] }));
    expectUnschedulable(d, { a: [R] });
  });
});

describe("scheduler › preferred node affinity (NodeAffinity score)", () => {
  it("prefers the node matching the heavier preference", () => {
    const h = cluster([node("a").label("zone", "x"), node("b").label("zone", "y")]);
    const d = h.plan(pod("p").preferNode(10, { key: "zone", operator: "In", values: ["x"] }).preferNode(50, { key: "zone", operator: "In", values: ["y"] }));
    expectPlaced(d, "b");
  });
  it("gives no node an edge when no preference matches", () => {
    const h = cluster([node("a"), node("b")]);
    const d = h.plan(pod("p").preferNode(10, { key: "zone", operator: "In", values: ["x"] }));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("a")).to.equal(d.scores.get("b"));
  });
});
