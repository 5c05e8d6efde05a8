/**
 * A whole cluster from `flotilla up` (its own process) against requests with no token and
 * malformed URLs, sent as curl sends them: each gets a Kubernetes Status, indented for curl as
 * kube-apiserver indents it, and the process stays up.
 */
import type { ChildProcess } from "node:child_process";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../runtime/nats-server.ts";
import { waitFor } from "../harness/cluster.ts";
import { rawRequest, requestHead } from "../harness/raw-https.ts";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const CURL = { "User-Agent": "curl/7.88.1", Accept: "*/*" };

describe("a whole cluster against malformed requests without a token", function () {
  this.timeout(90_000);
  let dir: string;
  let url: string;
  let ca: string;
  let up: ChildProcess | undefined;
  let out = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "flotilla-hostile-"));
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    up = spawn(process.execPath, [join(ROOT, "bin", "flotilla.mjs"), "up", "--engine", "process", "--data-dir", dir, "--port", String(port)], {
      cwd: ROOT,
      env: { ...process.env, KUBECONFIG: "", FLOTILLA_LOG: "warn", FLOTILLA_DATA_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    up.stdout!.on("data", (d) => (out += d));
    up.stderr!.on("data", (d) => (out += d));
    await waitFor(() => out.includes("Flotilla is up") || up!.exitCode !== null, { timeoutMs: 60_000, what: "flotilla up" });
    expect(up.exitCode, out).to.equal(null);
    ca = readFileSync(join(dir, "pki", "ca.crt"), "utf8");
  });

  after(async () => {
    if (up && up.exitCode === null && up.signalCode === null) {
      const gone = new Promise((r) => up!.once("exit", r));
      up.kill("SIGTERM");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = (target: string | Buffer) => rawRequest(url, ca, requestHead("GET", target, CURL));
  const alive = async () => {
    expect(up!.exitCode, out).to.equal(null);
    const r = await curl("/healthz");
    expect(r.status).to.equal(200);
  };

  it("answers curl -k …/api/v1/namespaces/%ZZ/pods with a 400 Status and keeps running", async () => {
    const r = await curl("/api/v1/namespaces/%ZZ/pods");
    expect(r.status).to.equal(400);
    expect(r.body).to.equal(
      ["{", '  "kind": "Status",', '  "apiVersion": "v1",', '  "metadata": {},', '  "status": "Failure",', '  "message": "path segment \\"%ZZ\\": invalid URL escape \\"%ZZ\\"",', '  "reason": "BadRequest",', '  "code": 400', "}"].join("\n"),
    );
    await alive();
  });

  it("answers no token with the 401 body kube-apiserver gives curl", async () => {
    const r = await curl("/api/v1/namespaces/default/pods");
    expect(r.status).to.equal(401);
    expect(r.body).to.equal(["{", '  "kind": "Status",', '  "apiVersion": "v1",', '  "metadata": {},', '  "status": "Failure",', '  "message": "Unauthorized",', '  "reason": "Unauthorized",', '  "code": 401', "}"].join("\n"));
  });

  it("survives the malformed-URL family: bad escapes, NUL bytes, dot segments, over-long paths", async () => {
    const family: [string | Buffer, number][] = [
      ["/%", 400],
      ["/api/v1/namespaces/%0/pods", 400],
      ["/api/v1/namespaces/default/pods/%C0%AF", 400],
      ["/apis/apps/v1/namespaces/%ZZ/deployments/web/scale", 400],
      ["/api/v1/namespaces/default/pods?watch=%ZZ", 400],
      ["/api/v1/namespaces/default/pods/x%00y", 400],
      [Buffer.from("/api/v1/namespaces/x\0y/pods", "latin1"), 400],
      ["/api/v1/namespaces/../secrets", 400],
      ["/ui/%2e%2e/%2e%2e/etc/passwd", 400],
      [`/api/v1/namespaces/${"n".repeat(40_000)}/pods`, 414],
      [`/api/v1/namespaces/${"n".repeat(200_000)}/pods`, 431],
    ];
    for (const [target, code] of family) {
      const r = await curl(target);
      const shown = String(target).slice(0, 60);
      expect(r.status, shown).to.equal(code);
      expect(JSON.parse(r.body), shown).to.include({ kind: "Status", code });
      await alive();
    }
  });
});
