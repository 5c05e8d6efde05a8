import { expect } from "chai";
import { connectedSubnets, parseRoutes, planPeerRoutes, staleRoutes, vtepAddress, vtepMac } from "../../../actors/kubelet/pod-network-routes.ts";

describe("pod network routes between nodes", () => {
  const self = { podCIDR: "10.244.1.0/24", subnets: ["10.250.1.0/24"] };

  describe("planPeerRoutes", () => {
    it("routes a peer on a directly connected subnet host-gw, via its address", () => {
      const plan = planPeerRoutes({ ...self, peers: [{ podCIDR: "10.244.3.0/24", address: "10.250.1.3" }] });
      expect(plan).to.deep.equal({ routes: [{ kind: "host-gw", podCIDR: "10.244.3.0/24", via: "10.250.1.3" }] });
    });

    it("routes a peer behind a router over VXLAN, to its VTEP, and gives this node a VTEP", () => {
      const plan = planPeerRoutes({ ...self, peers: [{ podCIDR: "10.244.2.0/24", address: "10.250.2.2" }] });
      expect(plan.routes).to.deep.equal([{ kind: "vxlan", podCIDR: "10.244.2.0/24", via: "10.244.2.0", mac: "0e:f1:0a:fa:02:02", dst: "10.250.2.2" }]);
      expect(plan.vtep).to.deep.equal({ address: "10.244.1.0" });
    });

    it("decides per peer in one plan", () => {
      const plan = planPeerRoutes({
        ...self,
        peers: [
          { podCIDR: "10.244.3.0/24", address: "10.250.1.3" },
          { podCIDR: "10.244.2.0/24", address: "10.250.2.2" },
        ],
      });
      expect(plan.routes.map((r) => `${r.podCIDR} ${r.kind}`)).to.deep.equal(["10.244.3.0/24 host-gw", "10.244.2.0/24 vxlan"]);
    });

    it("ignores a peer holding this node's own podCIDR and needs no VTEP without VXLAN peers", () => {
      const plan = planPeerRoutes({ ...self, peers: [{ podCIDR: "10.244.1.0/24", address: "10.250.9.9" }] });
      expect(plan).to.deep.equal({ routes: [] });
    });

    it("uses VXLAN for every peer when the node knows no subnet", () => {
      const plan = planPeerRoutes({ podCIDR: "10.244.1.0/24", subnets: [], peers: [{ podCIDR: "10.244.3.0/24", address: "10.250.1.3" }] });
      expect(plan.routes[0]!.kind).to.equal("vxlan");
    });
  });

  it("derives a distinct, locally administered unicast VTEP MAC from each node address, and the VTEP address from the podCIDR", () => {
    expect(vtepMac("10.250.2.2")).to.equal("0e:f1:0a:fa:02:02");
    expect(vtepMac("192.168.255.1")).to.equal("0e:f1:c0:a8:ff:01");
    expect(vtepMac("10.250.1.2")).to.not.equal(vtepMac("10.250.1.3"));
    expect(parseInt(vtepMac("10.250.1.2").slice(0, 2), 16) & 0b11).to.equal(0b10);
    expect(vtepAddress("10.244.7.0/24")).to.equal("10.244.7.0");
  });

  it("reads the connected subnets from `ip -o addr`, leaving out loopback, pod bridges and the VXLAN device", () => {
    const text = [
      "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
      "2: eth0    inet 10.250.1.2/24 brd 10.250.1.255 scope global eth0\\       valid_lft forever preferred_lft forever",
      "3: flt0    inet 10.244.1.1/24 scope global flt0\\       valid_lft forever preferred_lft forever",
      "4: flotilla.vxlan    inet 10.244.1.0/32 scope global flotilla.vxlan\\       valid_lft forever preferred_lft forever",
      "5: eth1    inet 192.168.7.9/16 scope global eth1",
    ].join("\n");
    expect(connectedSubnets(text, "10.244.0.0/16")).to.deep.equal(["10.250.1.0/24", "192.168.0.0/16"]);
  });

  it("finds the installed routes that no longer fit the plan", () => {
    const installed = parseRoutes(
      [
        "10.244.3.0/24 via 10.250.1.3 dev eth0",
        "10.244.2.0/24 via 10.250.1.1 dev eth0", // was host-gw, now behind a router
        "10.244.4.0/24 via 10.244.4.0 dev flotilla.vxlan onlink", // node left
        "10.244.5.0/24 via 10.244.5.0 dev flotilla.vxlan onlink",
      ].join("\n"),
    );
    const plan = planPeerRoutes({
      ...self,
      peers: [
        { podCIDR: "10.244.3.0/24", address: "10.250.1.3" },
        { podCIDR: "10.244.2.0/24", address: "10.250.2.2" },
        { podCIDR: "10.244.5.0/24", address: "10.250.5.5" },
      ],
    });
    expect(staleRoutes(installed, plan)).to.deep.equal(["10.244.2.0/24", "10.244.4.0/24"]);
  });
});
