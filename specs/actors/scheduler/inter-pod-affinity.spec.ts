import { expect } from "chai";
import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";
const term = (app: string, topologyKey = ZONE) => ({ labelSelector: { matchLabels: { app } }, topologyKey });
const nodes = () => [node("a1").zone("a"), node("b1").zone("b")];

describe("scheduler › InterPodAffinity filter (required affinity)", () => {
  it("places a pod in the zone that holds a matching pod", () => {
    const h = cluster(nodes(), [pod("db").label("app", "db").on("b1")]);
    expectPlaced(h.plan(pod("p").podAffinity("podAffinity", term("db"))), "b1");
  });
  it("rejects zones without a matching pod", () => {
    const d = cluster([node("a1").zone("a"), node("b1").zone("b")], [pod("db").label("app", "db").on("b1")]).plan(pod("p").podAffinity("podAffinity", term("db")));
    expectPlaced(d, "b1");
    const none = cluster([node("a1").zone("a")], [pod("db", "other").label("app", "db").on("a1")]);
    expectUnschedulable(none.plan(pod("p").podAffinity("podAffinity", term("db"))), { a1: ["node(s) didn't match pod affinity rules"] });
  });
  it("lets the first pod of a group that matches its own affinity land anywhere", () => {
    expectPlaced(cluster(nodes()).plan(pod("p").label("app", "web").podAffinity("podAffinity", term("web"))), "a1");
  });
});

describe("scheduler › InterPodAffinity filter (required anti-affinity)", () => {
  it("places a pod away from hosts that run a matching pod", () => {
    const h = cluster([node("a"), node("b")], [pod("w1").label("app", "web").on("a")]);
    expectPlaced(h.plan(pod("p").label("app", "web").podAffinity("podAntiAffinity", term("web", HOST))), "b");
  });
  it("rejects a host that runs a matching pod", () => {
    const h = cluster([node("a")], [pod("w1").label("app", "web").on("a")]);
    expectUnschedulable(h.plan(pod("p").podAffinity("podAntiAffinity", term("web", HOST))), { a: ["node(s) didn't match pod anti-affinity rules"] });
  });
  it("honours existing pods' anti-affinity against the incoming pod", () => {
    const h = cluster([node("a1").zone("a"), node("b1").zone("b")], [pod("lonely").podAffinity("podAntiAffinity", term("web")).on("a1")]);
    expectPlaced(h.plan(pod("p").label("app", "web")), "b1");
    const one = cluster([node("a1").zone("a")], [pod("lonely").podAffinity("podAntiAffinity", term("web")).on("a1")]);
    expectUnschedulable(one.plan(pod("p").label("app", "web")), { a1: ["node(s) didn't satisfy existing pods anti-affinity rules"] });
  });
});

describe("scheduler › InterPodAffinity score (preferred)", () => {
  it("prefers the zone holding pods it has a preferred affinity to", () => {
    const h = cluster(nodes(), [pod("c").label("app", "cache").on("b1")]);
    expectPlaced(h.plan(pod("p").podAffinity("podAffinity", term("cache"), 50)), "b1");
  });
  it("avoids the zone holding pods it has a preferred anti-affinity to", () => {
    const h = cluster(nodes(), [pod("c").label("app", "cache").on("a1")]);
    expectPlaced(h.plan(pod("p").podAffinity("podAntiAffinity", term("cache"), 50)), "b1");
  });
  it("gives no zone an edge when no pod matches the preference", () => {
    const d = cluster(nodes()).plan(pod("p").podAffinity("podAffinity", term("cache"), 50));
    if (!("node" in d)) expect.fail("unschedulable");
    expect(d.scores.get("a1")).to.equal(d.scores.get("b1"));
  });
});
