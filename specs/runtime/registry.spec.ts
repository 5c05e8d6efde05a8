/**
 * The servers' registry (runtime/cluster/registry.ts) on a real nats-server: what a joining server
 * and `flotilla server remove` read from it.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsServer } from "../../runtime/nats-server.ts";
import { expect } from "chai";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { connectNats } from "../../runtime/host.ts";
import { openRegistry, existingRegistry, putServer, deleteServer, listServers, BOOTSTRAP_KEY } from "../../runtime/cluster/registry.ts";

const record = (name: string, n: number) => ({ name, address: `127.0.0.${n}`, natsUrl: `nats://127.0.0.${n}:4222`, route: `127.0.0.${n}:6222`, apiUrl: `https://127.0.0.${n}:6443`, startedAt: "2026-12-03T00:00:00Z" });

describe("the servers' registry", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    server = await startNatsServer({ port: 0, quiet: true });
    nc = await connectNats(server.url, "spec-registry");
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("lists every server once, sorted, without the bootstrap data, and forgets a removed one", async () => {
    const reg = await openRegistry(nc, "spec-reg");
    await putServer(reg, record("server-b", 3));
    await putServer(reg, record("server-a", 2));
    await putServer(reg, { ...record("server-a", 2), startedAt: "2026-12-03T01:00:00Z" });
    await putServer(reg, record("server-c", 4));
    await reg.put(BOOTSTRAP_KEY, "sealed");
    const opened = await existingRegistry(nc, "spec-reg");
    const listed = await listServers(opened);
    expect(listed.map((r) => r.name)).to.deep.equal(["server-a", "server-b", "server-c"]);
    expect(listed[0]!.startedAt).to.equal("2026-12-03T01:00:00Z");
    await deleteServer(opened, "server-c");
    expect((await listServers(opened)).map((r) => r.name)).to.deep.equal(["server-a", "server-b"]);
  });

  it("lists nothing from an empty registry", async () => {
    expect(await listServers(await openRegistry(nc, "spec-empty"))).to.deep.equal([]);
  });
});
