/**
 * The audit log as an operator reads it: one JSON line per request with the user, verb, resource,
 * namespace, name and response code; the policy file decides what is logged; Secret values and
 * bearer tokens never appear in it.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { writeKubeconfig } from "../../actors/api-server/kubeconfig.ts";
import { waitFor } from "../harness/cluster.ts";

interface Line {
  verb: string;
  user: { username: string };
  objectRef?: { resource: string; namespace?: string; name?: string };
  responseStatus: { code: number };
}

describe("the audit log", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  let policyDir: string;
  const value = `v-${randomBytes(12).toString("hex")}`;
  const log = () => join(env.dir, "audit.log");
  const lines = (): Line[] => readFileSync(log(), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);

  before(async () => {
    policyDir = mkdtempSync(join(tmpdir(), "flotilla-audit-"));
    const policy = join(policyDir, "policy.yaml");
    writeFileSync(policy, `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources: [{group: "", resources: ["configmaps"]}]
- level: RequestResponse
`);
    env = await startApiEnv({ auditPolicy: policy });
  });
  after(async () => {
    await env?.stop();
    rmSync(policyDir, { recursive: true, force: true });
  });

  it("writes a line per request with user, verb, resource, namespace, name and code, and no secrets", async () => {
    const ns = await env.kubectl(["create", "namespace", "audit"]);
    expect(ns.code, ns.stderr).to.equal(0);
    expect((await env.kubectl(["create", "secret", "generic", "db", "-n", "audit", `--from-literal=password=${value}`])).code).to.equal(0);
    expect((await env.kubectl(["get", "secret", "db", "-n", "audit", "-o", "yaml"])).stdout).to.include(Buffer.from(value).toString("base64"));
    expect((await env.kubectl(["create", "configmap", "quiet", "-n", "audit", "--from-literal=a=b"])).code).to.equal(0);
    const viewer = join(env.dir, "viewer.kubeconfig");
    writeKubeconfig(viewer, { server: env.url, caPem: env.caPem, token: env.tokens.view });
    const denied = await env.kubectl(["get", "secrets", "-n", "audit"], { kubeconfig: viewer });
    expect(denied.code).to.not.equal(0);
    await waitFor(() => lines().some((l) => l.user.username === "viewer" && l.responseStatus.code === 403), { timeoutMs: 5000, what: "the viewer's refusal in the audit log" });
    const all = lines();
    expect(all.find((l) => l.verb === "create" && l.objectRef?.resource === "secrets")).to.deep.include({ verb: "create", user: all.find((l) => l.verb === "create" && l.objectRef?.resource === "secrets")!.user });
    const created = all.find((l) => l.verb === "create" && l.objectRef?.resource === "secrets")!;
    expect(created.user.username).to.equal("admin");
    expect(created.objectRef).to.include({ resource: "secrets", namespace: "audit" });
    expect(created.responseStatus.code).to.equal(201);
    const got = all.find((l) => l.verb === "get" && l.objectRef?.resource === "secrets" && l.objectRef.name === "db")!;
    expect(got.responseStatus.code).to.equal(200);
    const refused = all.find((l) => l.user.username === "viewer" && l.responseStatus.code === 403)!;
    expect(refused).to.deep.include({ verb: "list" });
    expect(refused.objectRef).to.include({ resource: "secrets", namespace: "audit" });
    expect(all.some((l) => l.objectRef?.resource === "configmaps"), "the policy drops configmaps").to.equal(false);
    const text = readFileSync(log(), "utf8");
    for (const secret of [value, Buffer.from(value).toString("base64"), env.tokens.admin, env.tokens.view]) expect(text).not.to.include(secret);
    expect((statSync(log()).mode & 0o777).toString(8)).to.equal("600");
  });
});
