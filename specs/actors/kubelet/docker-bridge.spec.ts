import { expect } from "chai";
import type { NetworkInterfaceInfo } from "node:os";
import { pickBridgeAddress, bridgeInterfaceName, bridgeGatewayOf } from "../../../actors/kubelet/engines/docker-bridge.ts";

const v4 = (address: string): NetworkInterfaceInfo => ({ address, family: "IPv4", internal: false, netmask: "255.255.0.0", mac: "02:42:00:00:00:01", cidr: `${address}/16` });
const v6 = (address: string): NetworkInterfaceInfo => ({ address, family: "IPv6", internal: false, netmask: "ffff:ffff:ffff:ffff::", mac: "02:42:00:00:00:01", cidr: `${address}/64`, scopeid: 5 });
/** What a freshly started dockerd 20.10 answers for GET /networks/bridge. */
const fresh = { Options: { "com.docker.network.bridge.name": "docker0" }, IPAM: { Config: [{ Subnet: "172.17.0.0/16" }] } };

describe("docker bridge address", () => {
  it("takes the bridge interface's IPv4 address on a fresh engine whose network has no IPAM gateway", () => {
    expect(pickBridgeAddress({ network: fresh, interfaces: { lo: [v4("127.0.0.1")], docker0: [v6("fe80::42:1"), v4("172.17.0.1")] } })).to.deep.equal({ address: "172.17.0.1", source: "interface" });
  });

  it("follows the network's bridge name option", () => {
    const network = { ...fresh, Options: { "com.docker.network.bridge.name": "br-flot" } };
    expect(bridgeInterfaceName(network)).to.equal("br-flot");
    expect(pickBridgeAddress({ network, interfaces: { docker0: [v4("172.17.0.1")], "br-flot": [v4("10.244.9.1")] } })?.address).to.equal("10.244.9.1");
    expect(bridgeInterfaceName(undefined)).to.equal("docker0");
  });

  it("falls back to a container's gateway, then to the IPAM gateway, and says nothing when none is known", () => {
    expect(pickBridgeAddress({ network: fresh, interfaces: {}, containerGateway: "172.17.0.1" })).to.deep.equal({ address: "172.17.0.1", source: "container" });
    const configured = { ...fresh, IPAM: { Config: [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }] } };
    expect(pickBridgeAddress({ network: configured, interfaces: {} })).to.deep.equal({ address: "172.18.0.1", source: "ipam" });
    expect(pickBridgeAddress({ network: fresh, interfaces: {} })).to.equal(undefined);
  });

  it("reads the gateway from a container's NetworkSettings", () => {
    expect(bridgeGatewayOf({ Gateway: "", Networks: { bridge: { Gateway: "172.17.0.1" } } })).to.equal("172.17.0.1");
    expect(bridgeGatewayOf({ Gateway: "172.17.0.1" })).to.equal("172.17.0.1");
    expect(bridgeGatewayOf({ Gateway: "", Networks: {} })).to.equal(undefined);
  });
});
