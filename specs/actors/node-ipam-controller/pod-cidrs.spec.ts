import { expect } from "chai";
import type { Node } from "../../../bus/resources.ts";
import type { IpamView } from "../../../actors/node-ipam-controller/pod-cidrs.ts";
import { planPodCIDRs, reconcile, DEFAULT_POD_CIDRS } from "../../../actors/node-ipam-controller/pod-cidrs.ts";

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

  describe("one node key", () => {
    const viewOf = (all: Node[], key: string, counted: { plans: number }): IpamView => ({
      node: all.find((n) => n.metadata.name === key),
      nodes: () => (counted.plans++, all),
      holdersOf: (c) => all.filter((n) => n.spec?.podCIDR === c).map((n) => n.metadata.name!),
      options: DEFAULT_POD_CIDRS,
    });
    it("does nothing for a node that holds its block alone, without planning every node (each heartbeat comes here)", () => {
      const all = [node("a", "10.244.0.0/24"), ...Array.from({ length: 50 }, (_, i) => node(`n${i}`, `10.244.${i + 1}.0/24`))];
      const counted = { plans: 0 };
      expect(reconcile("a", viewOf(all, "a", counted)).commands).to.deep.equal([]);
      expect(counted.plans).to.equal(0);
    });
    it("reports a block two nodes hold, and assigns the lowest free block to a node without one", () => {
      const all = [node("a", "10.244.0.0/24"), node("b", "10.244.0.0/24"), node("c")];
      const counted = { plans: 0 };
      expect(reconcile("b", viewOf(all, "b", counted)).commands).to.deep.equal([{ type: "node.pod-cidr-conflict", node: all[1], message: "pod CIDR 10.244.0.0/24 is held by nodes a, b" }]);
      expect(reconcile("c", viewOf(all, "c", counted)).commands).to.deep.equal([{ type: "node.pod-cidr", node: all[2], podCIDR: "10.244.1.0/24" }]);
      expect(counted.plans).to.equal(1);
    });
  });
});
