import { expect } from "chai";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { connectNats } from "../../runtime/host.ts";
import { createLogger } from "../../runtime/logger.ts";
import { JS_API_INFO, SilenceCounter, askJetStream, othersCurrent, othersCurrentIn, watchJetStreamApi } from "../../runtime/cluster/jetstream-watch.ts";

describe("a server's watch over its nats-server's JetStream API", () => {
  describe("the decision", () => {
    it("restarts after the given number of silent asks in a row, not before", () => {
      const c = new SilenceCounter({ misses: 3, cooldownMs: 30_000 });
      expect(c.observe("silent", 0)).to.equal(false);
      expect(c.observe("silent", 1000)).to.equal(false);
      expect(c.observe("silent", 2000)).to.equal(true);
    });
    it("starts counting again after any answer (an error reply is an answer)", () => {
      const c = new SilenceCounter({ misses: 2, cooldownMs: 0 });
      c.observe("silent", 0);
      c.observe("answered", 1);
      expect(c.observe("silent", 2)).to.equal(false);
      expect(c.observe("silent", 3)).to.equal(true);
    });
    it("lets an ask made across a reconnect count for nothing", () => {
      const c = new SilenceCounter({ misses: 2, cooldownMs: 0 });
      c.observe("silent", 0);
      expect(c.observe("unknown", 1)).to.equal(false);
      expect(c.silentInARow).to.equal(1);
      expect(c.observe("silent", 2)).to.equal(true);
    });
    it("does not restart again within the cool-down, however long the silence", () => {
      const c = new SilenceCounter({ misses: 1, cooldownMs: 30_000 });
      expect(c.observe("silent", 0)).to.equal(true);
      expect(c.observe("silent", 10_000)).to.equal(false);
      expect(c.observe("silent", 29_999)).to.equal(false);
      expect(c.observe("silent", 30_000)).to.equal(true);
    });
    it("starts no cool-down from a restart it was asked for and did not make", () => {
      const c = new SilenceCounter({ misses: 2, cooldownMs: 30_000 });
      expect(c.observe("silent", 0)).to.equal(false);
      expect(c.observe("silent", 1000)).to.equal(true);
      c.declined(); // every other server was silent too
      expect(c.observe("silent", 2000)).to.equal(false);
      expect(c.observe("silent", 3000), "asked again at the next misses").to.equal(true);
      expect(c.observe("silent", 4000)).to.equal(false);
      expect(c.observe("silent", 5000), "made this time: the cool-down runs").to.equal(false);
    });
    it("leaves a nats-server that just started alone, whatever silences came before its start", () => {
      // The 2026-12-03 quick chaos run: three silences while the cluster was slow, the nats-server
      // killed and started again, one more silence 0.7 s later, and a restart in the middle of its
      // catch-up that cut its copy of the bucket short.
      const c = new SilenceCounter({ misses: 4, cooldownMs: 30_000 });
      for (const t of [0, 3000, 6000]) expect(c.observe("silent", t)).to.equal(false);
      c.started(10_000);
      expect(c.silentInARow).to.equal(0);
      for (const t of [10_700, 13_000, 16_000, 19_000, 22_000]) expect(c.observe("silent", t), `at ${t}`).to.equal(false);
      expect(c.observe("silent", 40_000), "silent on past the cool-down").to.equal(true);
    });
  });

  describe("othersCurrent", () => {
    const isMe = (n: string) => n === "server-a";
    const info = (replicas: { name: string; current?: boolean; offline?: boolean }[]) => ({ cluster: { leader: "server-b", replicas } });
    it("lets a restart go ahead when every other replica is current and online", () => {
      expect(othersCurrent(info([{ name: "server-a", current: false }, { name: "server-c", current: true }]), isMe)).to.equal(true);
    });
    it("holds it back while another replica catches up or is offline", () => {
      expect(othersCurrent(info([{ name: "server-a", current: true }, { name: "server-c", current: false }]), isMe)).to.equal(false);
      expect(othersCurrent(info([{ name: "server-a", current: true }, { name: "server-c", current: true, offline: true }]), isMe)).to.equal(false);
    });
    it("says nothing against it from a reply without replicas", () => {
      expect(othersCurrent({}, isMe)).to.equal(true);
    });
    it("reads a reply's payload, and holds the restart back without one or when it is not JSON", () => {
      const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
      expect(othersCurrentIn(bytes(info([{ name: "server-c", current: true }])), isMe)).to.equal(true);
      expect(othersCurrentIn(bytes(info([{ name: "server-c", current: false }])), isMe)).to.equal(false);
      expect(othersCurrentIn(undefined, isMe)).to.equal(false);
      expect(othersCurrentIn(new TextEncoder().encode("not json"), isMe)).to.equal(false);
    });
  });

  describe("against a real nats-server", () => {
    let server: NatsServer;
    let nc: NatsConnection;
    before(async () => {
      server = await startNatsServer({ port: 0, quiet: true });
      nc = await connectNats(server.url, "spec-jetstream-watch");
      // A responder that takes requests and never answers: what a wedged JetStream API looks like to a client.
      nc.subscribe("spec.silent", { callback: () => undefined });
      await nc.flush();
    });
    after(async () => {
      await nc?.close();
      await server?.stop();
    });

    it("hears JetStream's account info answered", async () => {
      expect(await askJetStream(nc, 2000, () => 0)).to.equal("answered");
    });
    it("calls a request nobody answers silent, and one nobody listens to answered (no responders)", async () => {
      expect(await askJetStream(nc, 200, () => 0, "spec.silent")).to.equal("silent");
      expect(await askJetStream(nc, 200, () => 0, "spec.nobody")).to.equal("answered");
    });
    it("restarts once after the silent asks, and not while JetStream answers", async () => {
      const log = createLogger("spec");
      let restarts = 0;
      const silent = watchJetStreamApi({ nc, log, subjects: ["spec.silent"], intervalMs: 10, timeoutMs: 50, misses: 3, cooldownMs: 60_000, restart: async () => void restarts++ });
      const healthy = watchJetStreamApi({ nc, log, intervalMs: 10, timeoutMs: 500, misses: 1, cooldownMs: 0, restart: async () => void (restarts += 100) });
      await new Promise((r) => setTimeout(r, 800));
      silent.stop();
      healthy.stop();
      expect(restarts).to.equal(1);
    });
    it("leaves its nats-server running when another server's JetStream API is silent too", async () => {
      const log = createLogger("spec");
      let restarts = 0;
      let asked = 0;
      const alone = watchJetStreamApi({ nc, log, subjects: ["spec.silent"], intervalMs: 10, timeoutMs: 50, misses: 2, cooldownMs: 0, restart: async () => void restarts++, askElsewhere: async () => (asked++, "silent") });
      await new Promise((r) => setTimeout(r, 500));
      alone.stop();
      expect(asked, "asked elsewhere").to.be.greaterThan(0);
      expect(restarts).to.equal(0);
      const local = watchJetStreamApi({ nc, log, subjects: ["spec.silent"], intervalMs: 10, timeoutMs: 50, misses: 2, cooldownMs: 60_000, restart: async () => void restarts++, askElsewhere: async () => "answered" });
      await new Promise((r) => setTimeout(r, 500));
      local.stop();
      expect(restarts, "silent here only: restarted once").to.equal(1);
    });
    it("restarts when a stream leader's subject is silent though account info is answered, asking elsewhere about that subject", async () => {
      const log = createLogger("spec");
      let restarts = 0;
      const asked: string[] = [];
      const w = watchJetStreamApi({ nc, log, subjects: [JS_API_INFO, "spec.silent"], intervalMs: 10, timeoutMs: 50, misses: 2, cooldownMs: 60_000, jitterMs: 20, restart: async () => void restarts++, askElsewhere: async (subject) => (asked.push(subject), "answered") });
      await new Promise((r) => setTimeout(r, 600));
      w.stop();
      expect(asked).to.deep.equal(["spec.silent"]);
      expect(restarts).to.equal(1);
    });
    it("leaves its nats-server running when the silence ends during the pause before the restart", async () => {
      const log = createLogger("spec");
      let wedged = true;
      const sub = nc.subscribe("spec.wedged", { callback: (_e, m) => void (wedged || m.respond(new Uint8Array())) });
      await nc.flush();
      let restarts = 0;
      // Another server's restart (say) heals this one while it pauses.
      const w = watchJetStreamApi({ nc, log, subjects: ["spec.wedged"], intervalMs: 10, timeoutMs: 50, misses: 2, cooldownMs: 0, jitterMs: 30, restart: async () => void restarts++, askElsewhere: async () => ((wedged = false), "answered") });
      await new Promise((r) => setTimeout(r, 500));
      w.stop();
      sub.unsubscribe();
      expect(restarts).to.equal(0);
    });
    it("counts nothing asked while its connection is down", async () => {
      expect(await askJetStream(nc, 50, () => 0, "spec.silent", () => false)).to.equal("unknown");
    });
  });
});
