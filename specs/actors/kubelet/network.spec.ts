/** The kubelet's pod networking choice and what the Node (and `flotilla status`) says about it. */
import { expect } from "chai";
import { podNetworkProblem } from "../../../actors/kubelet/network.ts";
import { nodeObject, NETWORK_LABEL } from "../../../actors/kubelet/node-status.ts";
import { networkLines } from "../../../cli/cmd-status.ts";

describe("kubelet pod networking", () => {
  const facts = { nodeName: "n1", engine: "process", engineVersion: "0", hostIP: "10.199.0.1", kubeletVersion: "v1.32.0", capacity: { cpu: 1, memory: 1024, pods: 10 } };

  it("falls back to loopback for engines that bring no pod network of their own", async () => {
    expect(await podNetworkProblem("simulated")).to.match(/process engine/);
  });

  it("labels the node with its mode and explains it in the NetworkUnavailable condition", () => {
    const n = nodeObject({ ...facts, network: { mode: "loopback", message: "loopback fallback: network namespaces need root; pods share the host's network" } }, 0);
    expect(n.metadata.labels?.[NETWORK_LABEL]).to.equal("loopback");
    const c = n.status!.conditions!.find((x) => x.type === "NetworkUnavailable")!;
    expect(c).to.include({ status: "False", reason: "LoopbackFallback" });
    expect(networkLines([n])).to.deep.equal(["  network:     n1: loopback — loopback fallback: network namespaces need root; pods share the host's network"]);
  });

  it("reports the network unavailable until the node has a podCIDR, and ready after", () => {
    const waiting = nodeObject({ ...facts, network: { mode: "pod", message: "pod networking: waiting for a podCIDR", waiting: true } }, 0);
    expect(waiting.status!.conditions!.find((x) => x.type === "NetworkUnavailable")).to.include({ status: "True", reason: "NoPodCIDR" });
    const ready = nodeObject({ ...facts, network: { mode: "pod", message: "pods get addresses from 10.244.1.0/24", waiting: false } }, 0, waiting);
    expect(ready.status!.conditions!.find((x) => x.type === "NetworkUnavailable")).to.include({ status: "False", reason: "PodNetworkReady" });
  });

  it("says nothing about networking when pod networking was not asked for", () => {
    const n = nodeObject(facts, 0);
    expect(n.metadata.labels?.[NETWORK_LABEL]).to.equal(undefined);
    expect(n.status!.conditions!.map((c) => c.type)).to.not.include("NetworkUnavailable");
    expect(networkLines([n])).to.deep.equal([]);
  });
});
