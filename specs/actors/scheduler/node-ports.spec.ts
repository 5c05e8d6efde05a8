import { cluster, node, pod, expectPlaced, expectUnschedulable } from "./harness.ts";

const R = "node(s) didn't have free ports for the requested pod ports";

describe("scheduler › NodePorts filter", () => {
  it("places a pod whose host port is free on the node", () => {
    expectPlaced(cluster([node("a")], [pod("x").hostPort(80).on("a")]).plan(pod("p").hostPort(8080)), "a");
  });
  it("rejects a node where the host port is taken", () => {
    expectUnschedulable(cluster([node("a")], [pod("x").hostPort(80).on("a")]).plan(pod("p").hostPort(80)), { a: [R] });
  });
  it("allows the same port on another protocol or another specific host IP", () => {
    const h = cluster([node("a")], [pod("x").hostPort(53, "127.0.0.1", "UDP").on("a")]);
    expectPlaced(h.plan(pod("p").hostPort(53, "127.0.0.1", "TCP")), "a");
    expectPlaced(h.plan(pod("q").hostPort(53, "127.0.0.2", "UDP")), "a");
    expectUnschedulable(h.plan(pod("r").hostPort(53, undefined, "UDP")), { a: [R] });
  });
});
