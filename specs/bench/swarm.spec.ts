import { expect } from "chai";
import { privateDockerdArgs, rulesMentioning, SWARM_ADDRESSES } from "../../bench/swarm.ts";

describe("bench: the private Swarm engine", () => {
  it("gives the bridged engine a bridge and address pools the bench chose, and the other no networking", () => {
    const bridged = privateDockerdArgs("/tmp/x", "/tmp/x/docker.sock", "bridge").join(" ");
    expect(bridged).to.contain(`--bip ${SWARM_ADDRESSES.bridge}`);
    expect(bridged).to.contain(`--default-address-pool base=${SWARM_ADDRESSES.localPool},size=24`);
    expect(bridged).to.not.contain("--bridge=none");
    expect(bridged).to.not.contain("--iptables=false");
    const none = privateDockerdArgs("/tmp/x", "/tmp/x/docker.sock", "none").join(" ");
    expect(none).to.contain("--bridge=none --iptables=false");
  });
  it("finds host iptables rules that name the private ranges or Swarm's own chains, and no others", () => {
    const save = [
      "*nat",
      ":DOCKER - [0:0]",
      "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
      "-A POSTROUTING -s 10.211.0.0/24 ! -o docker0 -j MASQUERADE",
      "-A DOCKER-INGRESS -j RETURN",
      "COMMIT",
    ].join("\n");
    expect(rulesMentioning(save, Object.values(SWARM_ADDRESSES))).to.deep.equal(["-A POSTROUTING -s 10.211.0.0/24 ! -o docker0 -j MASQUERADE", "-A DOCKER-INGRESS -j RETURN"]);
  });
});
