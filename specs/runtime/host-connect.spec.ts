/**
 * A server starts its actors on its own nats-server, which may be restarting (a rebuild of its
 * copies) at that moment: the start is tried again when, and only when, no NATS server answered
 * (runtime/cluster/server.ts). Seen in a chaos run (seed 8): the server process exited instead.
 */
import { expect } from "chai";
import { startHost, isNatsUnreachable } from "../../runtime/host.ts";
import { freePort, startNatsServer } from "../../runtime/nats-server.ts";
import { settle } from "../../runtime/cluster/settle.ts";
import type { ActorDefinition } from "../../runtime/actor.ts";

const idle: ActorDefinition = { kind: "idle", start: async () => ({ stop: async () => undefined }) };

describe("starting actors while their nats-server is down", function () {
  this.timeout(20_000);

  it("names a refused connection as NATS unreachable, and nothing else", async () => {
    const port = await freePort();
    const e = await startHost({ natsUrl: `nats://127.0.0.1:${port}`, actors: [{ def: idle }], containFaults: false }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isNatsUnreachable(e), String(e)).to.equal(true);
    expect(isNatsUnreachable(new Error("no actor answers flotilla.default.store.get"))).to.equal(false);
  });

  it("starts them once the nats-server is back, when the start is settled on NATS being unreachable", async () => {
    const port = await freePort();
    let nats: Awaited<ReturnType<typeof startNatsServer>> | undefined;
    const later = setTimeout(() => void startNatsServer({ port }).then((s) => (nats = s)), 1500);
    try {
      const host = await settle("starting the actors", () => startHost({ natsUrl: `nats://127.0.0.1:${port}`, actors: [{ def: idle }], containFaults: false }), 15_000, isNatsUnreachable);
      expect(host.actors).to.have.length(1);
      await host.stop();
    } finally {
      clearTimeout(later);
      await nats?.stop();
    }
  });
});
