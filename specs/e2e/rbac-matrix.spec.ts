/**
 * The default roles as a user meets them through the real kubectl 1.32: every role (cluster-admin,
 * admin, edit, view) × every verb × the core resources (Secrets included), asked with
 * `kubectl auth can-i`, a few real requests per role for Kubernetes' 403 text, and the Python
 * client's `test_create_rbac_role_from_yaml` (utils.create_from_yaml of a Role).
 */
import { expect } from "chai";
import { appendFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { writeKubeconfig } from "../../actors/api-server/kubeconfig.ts";
import { tokenFilePath } from "../../actors/api-server/tokens.ts";
import { waitFor } from "../harness/cluster.ts";

const ROLES = ["cluster-admin", "admin", "edit", "view"] as const;
const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;
const READ = new Set(["get", "list", "watch"]);
const RESOURCES = ["pods", "services", "configmaps", "secrets", "deployments.apps", "serviceaccounts", "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io"] as const;

/** What Kubernetes' default roles allow in a namespace they are bound in. */
function expected(role: (typeof ROLES)[number], verb: string, resource: string): boolean {
  if (role === "cluster-admin" || role === "admin") return true;
  if (resource.startsWith("roles.") || resource.startsWith("rolebindings.")) return false;
  if (role === "edit") return true;
  return READ.has(verb) && resource !== "secrets";
}

describe("the default roles through kubectl (the matrix)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const kc = (role: string) => join(env.dir, `${role}.kubeconfig`);
  const as = (role: string, args: string[]) => env.kubectl(args, { kubeconfig: kc(role) });

  before(async () => {
    env = await startApiEnv();
    for (const role of ROLES) {
      const token = `matrix-${role}-${Math.random().toString(36).slice(2)}`;
      appendFileSync(tokenFilePath(env.dir), `${token},u-${role},u-${role}\n`);
      writeKubeconfig(kc(role), { server: env.url, caPem: env.caPem, token });
    }
    expect((await env.kubectl(["create", "namespace", "m"])).code).to.equal(0);
    expect((await env.kubectl(["create", "clusterrolebinding", "u-cluster-admin", "--clusterrole=cluster-admin", "--user=u-cluster-admin"])).code).to.equal(0);
    for (const role of ["admin", "edit", "view"]) expect((await env.kubectl(["create", "rolebinding", `u-${role}`, "-n", "m", `--clusterrole=${role}`, `--user=u-${role}`])).code).to.equal(0);
    await waitFor(async () => (await as("view", ["auth", "can-i", "list", "pods", "-n", "m"])).stdout.trim() === "yes", { timeoutMs: 10_000, what: "the bindings to take effect" });
  });
  after(async () => env?.stop());

  it("answers kubectl auth can-i for every role × verb × resource as Kubernetes does", async () => {
    const cells = ROLES.flatMap((role) => VERBS.flatMap((verb) => RESOURCES.map((resource) => ({ role, verb, resource }))));
    const wrong: string[] = [];
    // A few kubectl processes at a time: the machine is shared.
    for (let i = 0; i < cells.length; i += 8) {
      await Promise.all(cells.slice(i, i + 8).map(async (c) => {
        const r = await as(c.role, ["auth", "can-i", c.verb, c.resource, "-n", "m"]);
        const got = r.stdout.trim() === "yes";
        if (got !== expected(c.role, c.verb, c.resource) || (r.code === 0) !== got) wrong.push(`${c.role} ${c.verb} ${c.resource}: ${r.stdout.trim()} (exit ${r.code})`);
      }));
    }
    expect(wrong).to.deep.equal([]);
  });

  it("refuses with Kubernetes' 403 text", async () => {
    const cases: [string, string[], string][] = [
      ["view", ["get", "secrets", "-n", "m"], 'Error from server (Forbidden): secrets is forbidden: User "u-view" cannot list resource "secrets" in API group "" in the namespace "m"'],
      ["view", ["delete", "pod", "x", "-n", "m"], 'Error from server (Forbidden): pods "x" is forbidden: User "u-view" cannot delete resource "pods" in API group "" in the namespace "m"'],
      ["view", ["get", "pods", "-n", "default"], 'Error from server (Forbidden): pods is forbidden: User "u-view" cannot list resource "pods" in API group "" in the namespace "default"'],
      ["edit", ["create", "role", "r", "--verb=get", "--resource=pods", "-n", "m"], 'Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden: User "u-edit" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "m"'],
      ["edit", ["get", "secrets", "-n", "kube-system"], 'Error from server (Forbidden): secrets is forbidden: User "u-edit" cannot list resource "secrets" in API group "" in the namespace "kube-system"'],
      ["admin", ["get", "nodes"], 'Error from server (Forbidden): nodes is forbidden: User "u-admin" cannot list resource "nodes" in API group "" at the cluster scope'],
      ["admin", ["create", "namespace", "other"], 'Error from server (Forbidden): namespaces is forbidden: User "u-admin" cannot create resource "namespaces" in API group "" at the cluster scope'],
    ];
    for (const [role, args, text] of cases) {
      const r = await as(role, args);
      expect(r.code, args.join(" ")).to.equal(1);
      expect(r.stderr.trim(), args.join(" ")).to.equal(text);
    }
    // And what the role allows goes through.
    expect((await as("edit", ["create", "secret", "generic", "s", "-n", "m", "--from-literal=a=b"])).code).to.equal(0);
    expect((await as("admin", ["create", "role", "r", "--verb=get", "--resource=pods", "-n", "m"])).code).to.equal(0);
    expect((await as("cluster-admin", ["get", "nodes"])).code).to.equal(0);
  });

  it("creates an RBAC Role from YAML with the Python client's utils.create_from_yaml", async () => {
    const yaml = join(env.dir, "rbac-role.yaml");
    writeFileSync(yaml, `kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  namespace: m
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "watch", "list"]
`);
    const script = `
from kubernetes import client, config, utils
config.load_kube_config()
k = client.ApiClient()
utils.create_from_yaml(k, ${JSON.stringify(yaml)})
rbac = client.RbacAuthorizationV1Api(k)
role = rbac.read_namespaced_role(name="pod-reader", namespace="m")
assert role is not None
print("verbs=" + ",".join(role.rules[0].verbs))
rbac.delete_namespaced_role(name="pod-reader", namespace="m", body={})
`;
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn("/usr/bin/python3", ["-W", "ignore", "-c", script], { env: { ...process.env, HOME: env.home, KUBECONFIG: env.kubeconfig } });
      let stdout = "";
      let stderr = "";
      c.stdout.on("data", (d) => (stdout += d));
      c.stderr.on("data", (d) => (stderr += d));
      c.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout.trim()).to.equal("verbs=get,watch,list");
    expect((await env.kubectl(["get", "role", "pod-reader", "-n", "m"])).code, "deleted again").to.not.equal(0);
  });
});
