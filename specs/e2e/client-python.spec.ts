/** The official Python client (Debian's python3-kubernetes under /usr/bin/python3) against the api-server. */
import type { ChildProcess } from "node:child_process";
import type { ApiEnv } from "./api-server-env.ts";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startApiEnv } from "./api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../fixtures/python/watch_configmaps.py", import.meta.url));

describe("the Python client against the api-server", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  let child: ChildProcess | undefined;

  before(async () => {
    env = await startApiEnv();
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await env?.stop();
  });

  it("streams ADDED, MODIFIED and DELETED to watch.Watch().stream(), which sends watch=True", async () => {
    const cm = (name: string, a: string) => ({ metadata: { name, labels: { suite: "python" } }, data: { a } });
    const api = async (method: string, path: string, body?: unknown) => {
      const { request } = await import("node:https");
      return new Promise<number>((resolve, reject) => {
        const req = request(`${env.url}${path}`, { method, ca: env.caPem, headers: { authorization: `Bearer ${env.tokens.admin}`, "content-type": "application/json" } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode!));
        });
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    };
    expect(await api("POST", "/api/v1/namespaces/default/configmaps", cm("marker", "0"))).to.equal(201);

    let out = "";
    child = spawn(PYTHON, [SCRIPT, env.kubeconfig, "default", "suite=python", "py1"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: env.home } });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
    // The marker arrives as ADDED once the stream is open.
    await waitFor(() => out.includes("ADDED marker") || child!.exitCode !== null, { timeoutMs: 20_000, what: "the stream to open" });
    expect(out).to.include("ADDED marker");

    expect(await api("POST", "/api/v1/namespaces/default/configmaps", cm("py1", "1"))).to.equal(201);
    expect(await api("PUT", "/api/v1/namespaces/default/configmaps/py1", cm("py1", "2"))).to.equal(200);
    expect(await api("DELETE", "/api/v1/namespaces/default/configmaps/py1")).to.equal(200);
    expect(await exited, out).to.equal(0);
    expect(out.trim().split("\n")).to.deep.equal(["ADDED marker", "ADDED py1", "MODIFIED py1", "DELETED py1"]);
  });
});
