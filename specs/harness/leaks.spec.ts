/**
 * The leak check that runs after every spec run (root-hooks.ts): a run that leaves a process, a
 * pod-like process with a clean environment, or a listening port behind fails and names them, and
 * they are gone afterwards; a run that cleans up passes. Runs mocha in a child process, as
 * `npm test` does; the unit part reads /proc formats.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProcInfo } from "./leaks.ts";
import { parseStat, parseSockets, ownedBy } from "./leaks.ts";
import { waitFor } from "./cluster.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const MOCHA = join(ROOT, "node_modules", "mocha", "bin", "mocha.js");
const FIXTURES = join(ROOT, "specs", "fixtures", "ci");

function mocha(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MOCHA, join(FIXTURES, file)], { cwd: ROOT, env: { ...process.env, CI: "", FLOTILLA_LEAK_GRACE_MS: "1000" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => done({ code, out }));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the leak check after a spec run", function () {
  this.timeout(90_000);

  it("fails a run that leaves processes and a listening port behind, names them, and removes them", async () => {
    const r = await mocha("leaks.fixture.ts");
    expect(r.code, r.out).to.not.equal(0);
    const pids = [...r.out.matchAll(/leaked-pid (\d+)/g)].map((m) => Number(m[1]));
    const port = r.out.match(/leaked-port (\d+)/)?.[1];
    expect(pids, r.out).to.have.length(2);
    expect(r.out).to.match(/the specs left \d+ thing\(s\) of run r[0-9a-f]{8} behind/);
    expect(r.out).to.match(/process \d+ sleep 300 \(started by this run\)/);
    expect(r.out).to.match(/process \d+ sleep 301 \(it works in the run's directory\)/);
    expect(r.out).to.include(`port tcp 127.0.0.1:${port} held by pid`).and.include("(the spec process itself)");
    await waitFor(() => pids.every((p) => !alive(p)), { what: "the leaked processes to be gone" });
  });

  it("passes a run that stops what it starts", async () => {
    const r = await mocha("tidy.fixture.ts");
    expect(r.code, r.out).to.equal(0);
  });

  it("reads /proc/<pid>/stat with a command holding spaces and parentheses", () => {
    expect(parseStat("4242 (node (x) y) S 17 4242 4242 0 -1")).to.deep.equal({ pid: 4242, comm: "node (x) y", state: "S", ppid: 17, pgid: 4242 });
  });

  it("reads listening TCP and bound UDP sockets from /proc/net", () => {
    const tcp = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0",
      "   1: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 20 4 30 10 -1",
    ].join("\n");
    expect([...parseSockets(tcp, "tcp")]).to.deep.equal([["1111", "tcp 127.0.0.1:8080"]]);
  });

  it("attributes a process by marker, directory, process group and parent, and never the spec process or another run's", () => {
    const run = { id: "r00000001", dir: "/tmp/flotilla-run-r00000001", pid: 100 };
    const p = (o: Partial<ProcInfo>): ProcInfo => ({ pid: 500, ppid: 1, pgid: 500, state: "S", comm: "sh", cmdline: "sh", cwd: "/", environ: [], ...o });
    const leader = p({ pid: 400, pgid: 400, cmdline: `/bin/sh -c shim ${run.dir}/data/kubelet/x/exit` });
    const byPid = new Map([[400, leader]]);
    expect(ownedBy(p({ environ: ["FLOTILLA_TEST_RUN=r00000001"] }), run, byPid)).to.equal("started by this run");
    expect(ownedBy(p({ environ: ["FLOTILLA_TEST_RUN=r00000002"] }), run, byPid)).to.equal(undefined);
    expect(ownedBy(p({ cwd: `${run.dir}/data/pods/u1` }), run, byPid)).to.equal("it works in the run's directory");
    expect(ownedBy(p({ pgid: 400 }), run, byPid)).to.equal("its process group was started in the run's directory");
    expect(ownedBy(p({ ppid: 100 }), run, byPid)).to.equal("a child of the spec process");
    expect(ownedBy(p({ ppid: 100, comm: "esbuild" }), run, byPid)).to.equal(undefined);
    expect(ownedBy(p({ pid: 100, environ: ["FLOTILLA_TEST_RUN=r00000001"] }), run, byPid)).to.equal(undefined);
    expect(ownedBy(p({ state: "Z", ppid: 100 }), run, byPid)).to.equal(undefined);
  });
});
