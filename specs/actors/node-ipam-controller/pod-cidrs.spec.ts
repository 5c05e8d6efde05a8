import { expect } from "chai";
import type { Node } from "../../../bus/resources.ts";
import { planPodCIDRs } from "../../../actors/node-ipam-controller/pod-cidrs.ts";

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} }) as Node;

describe("node ipam controller › pod CIDRs", () => {
  it("gives each new node the lowest free /24 of 10.244.0.0/16", () => {
    const plan = planPodCIDRs([node("b"), node("a", "10.244.0.0/24"), node("c")]);
    expect(plan.assign).to.deep.equal([
      { node: "b", podCIDR: "10.244.1.0/24" },
      { node: "c", podCIDR: "10.244.2.0/24" },
    ]);
  });
  it("reuses a block a departed node held, and never hands out one in use", () => {
    const plan = planPodCIDRs([node("a", "10.244.0.0/24"), node("c", "10.244.2.0/24"), node("d")]);
    expect(plan.assign).to.deep.equal([{ node: "d", podCIDR: "10.244.1.0/24" }]);
  });
  it("reports blocks held twice and nodes left without one when the range is full", () => {
    const plan = planPodCIDRs([node("a", "10.0.0.0/25"), node("b", "10.0.0.0/25"), node("c", "10.0.0.128/25"), node("d")], { clusterCIDR: "10.0.0.0/24", nodeMaskSize: 25 });
    expect(plan.conflicts).to.deep.equal([{ podCIDR: "10.0.0.0/25", nodes: ["a", "b"] }]);
    expect(plan.exhausted).to.deep.equal(["d"]);
  });
});
