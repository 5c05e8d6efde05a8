import { expect } from "chai";
import type { Node } from "../../../bus/resources.ts";
import type { IpamView, PodCIDROptions } from "../../../actors/node-ipam-controller/pod-cidrs.ts";
import { reconcile, DEFAULT_POD_CIDRS } from "../../../actors/node-ipam-controller/pod-cidrs.ts";

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} }) as Node;

/** The controller's view over a list of nodes; `looked` counts the blocks looked at. */
function viewOf(all: Node[], key: string, options: PodCIDROptions = DEFAULT_POD_CIDRS, looked = { blocks: 0 }): IpamView {
  const holdersOf = (c: string) => all.filter((n) => n.spec?.podCIDR === c).map((n) => n.metadata.name!);
  const takenCount = new Set(all.map((n) => n.spec?.podCIDR).filter(Boolean)).size;
  return { node: all.find((n) => n.metadata.name === key), taken: (c) => (looked.blocks++, holdersOf(c).length > 0), takenCount, holdersOf, options };
}

/** Runs the controller over each key in turn, writing each block it hands out back into the list. */
function assignAll(all: Node[], keys: string[], options?: PodCIDROptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    for (const c of reconcile(k, viewOf(all, k, options)).commands) {
      if (c.type !== "node.pod-cidr") continue;
      out[k] = c.podCIDR;
      all = all.map((n) => (n.metadata.name === k ? node(k, c.podCIDR) : n));
    }
  }
  return out;
}

describe("node ipam controller › pod CIDRs", () => {
  it("gives each new node the lowest free /24 of 10.244.0.0/16", () => {
    expect(assignAll([node("b"), node("a", "10.244.0.0/24"), node("c")], ["b", "c"])).to.deep.equal({ b: "10.244.1.0/24", c: "10.244.2.0/24" });
  });
  it("reuses a block a departed node held, and never hands out one in use", () => {
    expect(assignAll([node("a", "10.244.0.0/24"), node("c", "10.244.2.0/24"), node("d")], ["d"])).to.deep.equal({ d: "10.244.1.0/24" });
  });
  it("reports blocks held twice and nodes left without one when the range is full", () => {
    const options = { clusterCIDR: "10.0.0.0/24", nodeMaskSize: 25 };
    const all = [node("a", "10.0.0.0/25"), node("b", "10.0.0.0/25"), node("c", "10.0.0.128/25"), node("d")];
    expect(reconcile("b", viewOf(all, "b", options)).commands).to.deep.equal([{ type: "node.pod-cidr-conflict", node: all[1], message: "pod CIDR 10.0.0.0/25 is held by nodes a, b" }]);
    expect(reconcile("c", viewOf(all, "c", options)).commands).to.deep.equal([]);
    expect(reconcile("d", viewOf(all, "d", options)).commands).to.deep.equal([{ type: "node.pod-cidr-conflict", node: all[3], message: "no pod CIDR left in 10.0.0.0/24 for node d" }]);
  });
  it("looks at no block for a node that holds its block alone (each heartbeat comes here), however many nodes there are", () => {
    const all = Array.from({ length: 200 }, (_, i) => node(`n${i}`, `10.244.${i}.0/24`));
    const looked = { blocks: 0 };
    expect(reconcile("n7", viewOf(all, "n7", DEFAULT_POD_CIDRS, looked)).commands).to.deep.equal([]);
    expect(looked.blocks).to.equal(0);
  });
  it("looks at no block for a node left without one when every block is taken (more nodes than blocks)", () => {
    const full = Array.from({ length: 256 }, (_, i) => node(`n${i}`, `10.244.${i}.0/24`));
    const all = [...full, node("late")];
    const looked = { blocks: 0 };
    expect(reconcile("late", viewOf(all, "late", DEFAULT_POD_CIDRS, looked)).commands).to.deep.equal([{ type: "node.pod-cidr-conflict", node: all[256], message: "no pod CIDR left in 10.244.0.0/16 for node late" }]);
    expect(looked.blocks).to.equal(0);
  });
  it("still finds the one free block of an almost full range", () => {
    const all = [...Array.from({ length: 256 }, (_, i) => node(`n${i}`, `10.244.${i}.0/24`)).filter((n) => n.metadata.name !== "n200"), node("late")];
    expect(assignAll(all, ["late"])).to.deep.equal({ late: "10.244.200.0/24" });
  });
});
