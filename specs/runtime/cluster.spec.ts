import { expect } from "chai";
import { newJoinToken, derive, isJoinToken, parseToken, withCaHash, caHashOf } from "../../runtime/cluster/token.ts";
import { generateCa } from "../../actors/api-server/certs.ts";
import { seal, open } from "../../runtime/cluster/bootstrap.ts";
import { metaView } from "../../runtime/cluster/jetstream-cluster.ts";
import { desiredReplicas } from "../../runtime/cluster/server.ts";
import { clusterBlock } from "../../runtime/nats-server.ts";
import { parseNatsUrls } from "../../runtime/host.ts";
import { announcedServers } from "../../runtime/cluster/registry.ts";

describe("several servers", () => {
  describe("the servers a joining node is given", () => {
    const a = { name: "server-a", natsUrl: "nats://127.0.0.2:4222", leafUrl: "nats-leaf://127.0.0.2:7422" };
    const b = { name: "server-b", natsUrl: "nats://127.0.0.3:4222", leafUrl: "nats-leaf://127.0.0.3:7422" };
    it("names the answering server when the registry lists none (a bucket moving to R3)", () => {
      expect(announcedServers([], a)).to.deep.equal({ nats: [a.natsUrl], leaf: [a.leafUrl] });
    });
    it("names every listed server once, the answering one included", () => {
      expect(announcedServers([b, a], a)).to.deep.equal({ nats: [a.natsUrl, b.natsUrl], leaf: [a.leafUrl, b.leafUrl] });
      expect(announcedServers([b], a).nats).to.deep.equal([a.natsUrl, b.natsUrl]);
    });
  });
  describe("join token", () => {
    it("derives the same route password on every server and a different one per purpose", () => {
      const t = newJoinToken();
      expect(isJoinToken(t)).to.equal(true);
      expect(derive(t, "route")).to.equal(derive(t, "route"));
      expect(derive(t, "route")).to.not.equal(derive(t, "user:sys"));
      expect(derive(newJoinToken(), "route")).to.not.equal(derive(t, "route"));
    });
    it("carries the CA's hash in k3s' form and derives the same passwords with or without it", () => {
      const t = newJoinToken();
      const hash = caHashOf(generateCa().certPem);
      const full = withCaHash(t, hash);
      expect(full).to.equal(`K10${hash}::${t}`);
      expect(parseToken(full)).to.deep.equal({ secret: t, caHash: hash });
      expect(parseToken(t)).to.deep.equal({ secret: t });
      expect(derive(full, "user:admin")).to.equal(derive(t, "user:admin"));
      expect(isJoinToken(`K10${hash.slice(1)}::${t}`)).to.equal(false);
      expect(isJoinToken("K10abc::nonsense")).to.equal(false);
    });
  });

  describe("bootstrap data", () => {
    const data = { caCert: "CERT", caKey: "KEY", tokensCsv: "t,admin,admin,\"system:masters\"\n" };
    it("opens with the token it was sealed with and hides the CA key", () => {
      const t = newJoinToken();
      const sealed = seal(t, data);
      expect(sealed).to.not.include("KEY");
      expect(open(t, sealed)).to.deep.equal(data);
    });
    it("refuses a token from another cluster", () => {
      expect(() => open(newJoinToken(), seal(newJoinToken(), data))).to.throw(/cannot be opened with this token/);
    });
  });

  describe("replication policy", () => {
    it("replicates every bucket three times from three servers on, and keeps one replica below", () => {
      expect([1, 2, 3, 5].map(desiredReplicas)).to.deep.equal([1, 1, 3, 3]);
    });
    it("counts every meta peer the servers report, the leader included", () => {
      const v = metaView([
        { server: "a", metaLeader: "b", peers: [] },
        { server: "b", metaLeader: "b", peers: [{ name: "a", current: true, offline: false }, { name: "c", current: false, offline: true }] },
      ]);
      expect(v).to.deep.equal({ leader: "b", peers: ["a", "b", "c"] });
    });
  });

  describe("nats config", () => {
    it("routes to every other server with the route password and never to itself", () => {
      const b = clusterBlock({ name: "flotilla", listen: "127.0.0.2:6222", routes: ["127.0.0.2:6222", "127.0.0.3:6222", "127.0.0.3:6222"], routePassword: "p/w" });
      expect(b).to.include('"nats-route://route:p%2Fw@127.0.0.3:6222"');
      expect(b).to.not.include("@127.0.0.2:6222");
      expect(b.match(/nats-route/g)).to.have.length(1);
    });
    it("takes the user and password out of NATS URLs", () => {
      expect(parseNatsUrls("nats://sys:a%2Fb@127.0.0.2:4222,nats://sys:a%2Fb@127.0.0.3:4222")).to.deep.equal({
        servers: ["nats://127.0.0.2:4222", "nats://127.0.0.3:4222"],
        user: "sys",
        pass: "a/b",
      });
      expect(parseNatsUrls("nats://127.0.0.1:4222").user).to.equal(undefined);
    });
  });
});
