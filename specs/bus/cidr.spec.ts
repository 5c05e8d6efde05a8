import { expect } from "chai";
import { inCidr, nthAddress, parseCidr, subnet } from "../../bus/cidr.ts";

describe("cidr", () => {
  it("parses blocks, normalising the host bits", () => {
    expect(parseCidr("10.244.1.7/24")).to.deep.equal({ base: 0x0af40100, size: 256, prefix: 24 });
    expect(() => parseCidr("10.244.1.0")).to.throw(/invalid CIDR/);
    expect(() => parseCidr("300.0.0.0/8")).to.throw(/invalid CIDR/);
  });
  it("handles addresses above 128.0.0.0 without going negative", () => {
    expect(inCidr("192.168.1.5", "192.168.0.0/16")).to.equal(true);
    expect(inCidr("192.169.1.5", "192.168.0.0/16")).to.equal(false);
  });
  it("cuts per-node /24s out of the cluster CIDR", () => {
    expect(subnet("10.244.0.0/16", 24, 0)).to.equal("10.244.0.0/24");
    expect(subnet("10.244.0.0/16", 24, 255)).to.equal("10.244.255.0/24");
    expect(subnet("10.244.0.0/16", 24, 256)).to.equal(undefined);
    expect(nthAddress("10.244.3.0/24", 1)).to.equal("10.244.3.1");
  });
});
