/**
 * Fault containment in a host process: an actor that throws (in a timer, in a NATS callback) or
 * leaves a promise rejection unhandled is restarted by its supervisor; the process and the other
 * actors in it keep running.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import type { NatsServer } from "../../runtime/nats-server.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { startNatsServer } from "../../runtime/nats-server.ts";
import { connectNats, pingActors } from "../../runtime/host.ts";
import { request } from "../../bus/request.ts";
import { subjects } from "../../bus/subjects.ts";
import { waitFor } from "../harness/cluster.ts";

const CLUSTER = "faults";
const root = subjects(CLUSTER).root;

describe("fault containment in a host process", function () {
  this.timeout(30_000);
  let server: NatsServer;
  let nc: NatsConnection;
  let child: ChildProcess;
  let stderr = "";
  let exited: number | null | undefined;

  const thrower = (fault?: string) => request<{ instance: number }>(nc, `${root}.fixture.thrower`, { fault }, 1000);
  const echo = async () => {
    const r = await nc.request(`${root}.fixture.echo`, new TextEncoder().encode("hello"), { timeout: 1000 });
    return new TextDecoder().decode(r.data);
  };

  before(async () => {
    server = await startNatsServer({ port: 0 });
    nc = await connectNats(server.url, "spec");
    child = spawn(process.execPath, ["--import", "tsx", "specs/fixtures/fault-host.ts", server.url, CLUSTER], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, FLOTILLA_LOG: "warn" },
    });
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => (exited = code));
    await waitFor(async () => (await pingActors(nc, CLUSTER)).length === 2, { timeoutMs: 20_000, what: "thrower and echo" });
  });
  after(async () => {
    child?.kill("SIGKILL");
    await nc?.close();
    await server?.stop();
  });

  for (const fault of ["timer", "rejection", "callback"]) {
    it(`restarts an actor after a fault (${fault}) and the other actor keeps serving`, async () => {
      const before = await thrower();
      expect(before.ok).to.equal(true);
      const first = before.ok ? before.value.instance : 0;
      const idsBefore = (await pingActors(nc, CLUSTER)).map((a) => a.id).sort();
      await thrower(fault);
      const after = await waitFor(
        async () => {
          const r = await thrower();
          return r.ok && r.value.instance > first ? r.value.instance : undefined;
        },
        { timeoutMs: 10_000, what: "the thrower to be restarted" },
      );
      expect(after).to.equal(first + 1);
      expect(exited, `the host process exited; stderr:\n${stderr}`).to.equal(undefined);
      expect(await echo()).to.equal("hello");
      // The same actors (same ids) still answer presence: the restart kept the actor, not the process.
      expect((await pingActors(nc, CLUSTER)).map((a) => a.id).sort()).to.deep.equal(idsBefore);
      expect(stderr).to.include("actor fault contained");
    });
  }
});
