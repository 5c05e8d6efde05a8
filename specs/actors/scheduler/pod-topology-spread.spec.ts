import { expect } from "chai";
import { cluster, node, pod, expectPlaced, expectUnschedulable, rejected } from "./harness.ts";

const ZONE = "topology.kubernetes.io/zone";
const spread = (whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway", maxSkew = 1) => ({
  maxSkew,
  topologyKey: ZONE,
  whenUnsatisfiable,
  labelSelector: { matchLabels: { app: "web" } },
});
const nodes = () => [node("a1").zone("a"), node("a2").zone("a"), node("b1").zone("b")];

describe("scheduler › PodTopologySpread filter", () => {
  it("places a pod in the zone with fewer matching pods", () => {
    const h = cluster(nodes(), [pod("w1").label("app", "web").on("a1")]);
    expectPlaced(h.plan(pod("p").label("app", "web").spread(spread("DoNotSchedule"))), "b1");
  });
  it("rejects the nodes of a zone that would exceed maxSkew", () => {
    const full = cluster(nodes(), [pod("w1").label("app", "web").on("a1"), pod("w2").label("app", "web").on("a2")]);
    const d = full.plan(pod("p").label("app", "web").spread(spread("DoNotSchedule")));
    expectPlaced(d, "b1");
    const only = cluster([node("a1").zone("a"), node("b1").zone("b").cordon()], [pod("w1").label("app", "web").on("a1")]);
    expectUnschedulable(only.plan(pod("p").label("app", "web").spread(spread("DoNotSchedule"))), {
      a1: ["node(s) didn't match pod topology spread constraints"],
      b1: ["node(s) were unschedulable"],
    });
  });
  it("rejects a node without the topology label", () => {
    const d = cluster([node("x"), node("a1").zone("a")]).plan(pod("p").label("app", "web").spread(spread("DoNotSchedule")));
    expect(rejected(d, "x")).to.equal(undefined); // a placement was found, so no reasons are reported
    expectPlaced(d, "a1");
    expectUnschedulable(cluster([node("x")]).plan(pod("p").spread(spread("DoNotSchedule"))), {
      x: ["node(s) didn't match pod topology spread constraints (missing required label)"],
    });
  });
  it("ignores pods the selector does not match", () => {
    const h = cluster(nodes(), [pod("o1").label("app", "db").on("b1"), pod("o2").label("app", "db").on("b1")]);
    const d = h.plan(pod("p").label("app", "web").spread(spread("DoNotSchedule")).requireNode({ key: ZONE, operator: "In", values: ["b"] }));
    expectPlaced(d, "b1");
  });
});

describe("scheduler › PodTopologySpread score", () => {
  it("prefers the zone with fewer matching pods under ScheduleAnyway", () => {
    const h = cluster(nodes(), [pod("w1").label("app", "web").on("a1"), pod("w2").label("app", "web").on("a2")]);
    expectPlaced(h.plan(pod("p").label("app", "web").spread(spread("ScheduleAnyway"))), "b1");
  });
  it("still places the pod when the skew cannot be kept under ScheduleAnyway", () => {
    const h = cluster([node("a1").zone("a"), node("b1").zone("b").cordon()], [pod("w1").label("app", "web").on("a1"), pod("w2").label("app", "web").on("a1")]);
    expectPlaced(h.plan(pod("p").label("app", "web").spread(spread("ScheduleAnyway"))), "a1");
  });
});
