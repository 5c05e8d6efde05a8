/** The node controller's cluster requests: what a peer-remove request may name. */
import { expect } from "chai";
import { decodePeerRemove } from "../../bus/cluster-protocol.ts";

describe("a peer-remove request", () => {
  it("names a server or one of its JetStream identities", () => {
    expect(decodePeerRemove({ server: "server-a" })).to.deep.equal({ server: "server-a" });
    expect(decodePeerRemove({ server: "server-a.2" })).to.deep.equal({ server: "server-a.2" });
    expect(decodePeerRemove({ server: "db_1.example.com" })).to.deep.equal({ server: "db_1.example.com" });
  });

  it("refuses anything else with the field that is wrong", () => {
    for (const bad of [{}, { server: "" }, { server: "a b" }, { server: "a.*" }, { server: ">" }, { server: ".a" }, { server: "a." }, { server: "a..b" }, { server: "x".repeat(129) }, { server: 3 }]) {
      expect(() => decodePeerRemove(bad), JSON.stringify(bad)).to.throw(/server/);
    }
    expect(() => decodePeerRemove("server-a")).to.throw(/object/);
  });
});
