/**
 * Under CI=true nothing skips: a spec run whose Docker engine does not answer, or in which a test
 * is skipped, fails; outside CI the same run passes and prints why it skipped. Each case runs
 * mocha in a child process, as `npm test` would.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { underCI } from "./optional.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const MOCHA = join(ROOT, "node_modules", "mocha", "bin", "mocha.js");
const FIXTURES = join(ROOT, "specs", "fixtures", "ci");
/** A Docker socket that does not exist: the engine "is missing". */
const NO_DOCKER = { DOCKER_HOST: "unix:///nonexistent/flotilla-no-docker.sock" };

function mocha(file: string, env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MOCHA, join(FIXTURES, file)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => done({ code, out }));
  });
}

describe("optional pieces of the machine", function () {
  this.timeout(60_000);

  it("reads CI=true (and not CI=false or an empty CI) as a CI run", () => {
    expect([underCI({ CI: "true" }), underCI({ CI: "1" }), underCI({ CI: "false" }), underCI({ CI: "" }), underCI({})]).to.deep.equal([true, true, false, false, false]);
  });

  it("fails a CI run whose Docker engine does not answer, naming what is missing", async () => {
    const r = await mocha("needs-docker.fixture.ts", { ...NO_DOCKER, CI: "true" });
    expect(r.code, r.out).to.not.equal(0);
    expect(r.out).to.include("a Docker engine is required under CI=true");
    expect(r.out).to.not.match(/\d+ pending/);
  });

  it("skips it outside CI, printing why", async () => {
    const r = await mocha("needs-docker.fixture.ts", { ...NO_DOCKER, CI: "" });
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.include("skipped: a Docker engine").and.include("1 pending");
  });

  it("fails a CI run in which any test was skipped, naming it", async () => {
    const r = await mocha("skips.fixture.ts", { CI: "true" });
    expect(r.code, r.out).to.not.equal(0);
    expect(r.out).to.include("nothing may be skipped").and.include("a suite with a skipped test is skipped");
    expect((await mocha("skips.fixture.ts", { CI: "" })).code).to.equal(0);
  });
});
