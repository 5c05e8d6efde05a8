/**
 * The real kubectl 1.32 and RBAC: the rbac.authorization.k8s.io/v1 kinds through `kubectl create`
 * and `kubectl get`.
 */
import { expect } from "chai";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";
import { writeKubeconfig } from "../../actors/api-server/kubeconfig.ts";
import { clusterRoleAggregationController } from "../../actors/clusterrole-aggregation-controller/index.ts";
import { serviceAccountController } from "../../actors/serviceaccount-controller/index.ts";
import { generateCa, generateClientCert } from "../../actors/api-server/certs.ts";
import { readFileSync } from "node:fs";

const NS = "rbac-a";
const OTHER = "rbac-b";

describe("kubectl and RBAC", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  const ok = async (args: string[], o: { kubeconfig?: string } = {}) => {
    const r = await env.kubectl(args, o);
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  /** A kubeconfig for a bearer token. */
  const kubeconfigFor = (name: string, token: string) => {
    const path = join(env.dir, `${name}-kubeconfig`);
    writeKubeconfig(path, { server: env.url, caPem: env.caPem, token });
    return path;
  };
  let viewer = "";
  let jane = "";

  before(async () => {
    env = await startApiEnv();
    await ok(["create", "namespace", NS]);
    await ok(["create", "namespace", OTHER]);
    // A user of the static token file in no group of its own: only RBAC bindings give it rights.
    appendFileSync(join(env.dir, "tokens.csv"), `jane-token-0123456789,jane,1001,"devs"\n`);
    viewer = kubeconfigFor("viewer", env.tokens.view);
    jane = kubeconfigFor("jane", "jane-token-0123456789");
  });
  after(async () => {
    await env?.stop();
  });

  describe("the rbac.authorization.k8s.io/v1 kinds", () => {
    it("creates a Role, a ClusterRole and bindings to them with kubectl create", async () => {
      expect(await ok(["create", "role", "pod-reader", "-n", NS, "--verb=get,list,watch", "--resource=pods,pods/log"])).to.contain("role.rbac.authorization.k8s.io/pod-reader created");
      expect(await ok(["create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes"])).to.contain("clusterrole.rbac.authorization.k8s.io/node-reader created");
      expect(await ok(["create", "rolebinding", "jane-reads-pods", "-n", NS, "--role=pod-reader", "--user=jane", "--group=devs", "--serviceaccount=rbac-a:builder"])).to.contain(
        "rolebinding.rbac.authorization.k8s.io/jane-reads-pods created",
      );
      expect(await ok(["create", "clusterrolebinding", "joe-reads-nodes", "--clusterrole=node-reader", "--user=joe"])).to.contain("clusterrolebinding.rbac.authorization.k8s.io/joe-reads-nodes created");
      const role = JSON.parse(await ok(["get", "role", "pod-reader", "-n", NS, "-o", "json"]));
      expect(role.rules).to.deep.equal([
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
      ]);
    });

    it("prints the columns Kubernetes prints for each kind", async () => {
      const out = await ok(["get", "role,rolebinding", "-n", NS, "-o", "wide"]);
      expect(out).to.match(/NAME\s+CREATED AT\nrole\.rbac\.authorization\.k8s\.io\/pod-reader\s+\d{4}-\d\d-\d\dT/);
      expect(out).to.match(/NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\nrolebinding\.rbac\.authorization\.k8s\.io\/jane-reads-pods\s+Role\/pod-reader\s+\S+\s+jane\s+devs\s+rbac-a:builder/);
      const crb = await ok(["get", "clusterrolebinding", "joe-reads-nodes"]);
      expect(crb).to.match(/NAME\s+ROLE\s+AGE\njoe-reads-nodes\s+ClusterRole\/node-reader\s+\S+/);
      expect(await ok(["get", "clusterrole", "node-reader"])).to.match(/NAME\s+CREATED AT\nnode-reader\s+\d{4}-/);
    });

    it("refuses an invalid binding with Kubernetes' field errors", async () => {
      const r = await env.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: broken}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: robot}]
`,
      });
      expect(r.stderr).to.contain('The ClusterRoleBinding "broken" is invalid: ');
      expect(r.stderr).to.contain('roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"');
      expect(r.stderr).to.contain("subjects[0].namespace: Required value");
    });
  });

  describe("authorization", () => {
    it("lets the view token read pods but not Secrets, with Kubernetes' 403", async () => {
      await ok(["create", "secret", "generic", "db", "-n", NS, "--from-literal=password=hunter2"]);
      expect(await ok(["get", "pods", "-n", NS], { kubeconfig: viewer })).to.equal("");
      const r = await env.kubectl(["get", "secrets", "-n", NS], { kubeconfig: viewer });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "rbac-a"');
      const g = await env.kubectl(["get", "secret", "db", "-n", NS, "-o", "json"], { kubeconfig: viewer });
      expect(g.stderr).to.contain('secrets "db" is forbidden: User "viewer" cannot get resource "secrets" in API group "" in the namespace "rbac-a"');
      expect(g.stdout).to.not.contain("aHVudGVyMg");
    });

    it("gives a user rights only where a RoleBinding grants them", async () => {
      const before = await env.kubectl(["get", "configmaps", "-n", NS], { kubeconfig: jane });
      expect(before.stderr).to.contain('User "jane" cannot list resource "configmaps"');
      await ok(["create", "rolebinding", "jane-admin", "-n", NS, "--clusterrole=admin", "--user=jane"]);
      await waitFor(async () => (await env.kubectl(["create", "configmap", "settings", "-n", NS, "--from-literal=a=1"], { kubeconfig: jane })).code === 0, { what: "jane may create in rbac-a" });
      const elsewhere = await env.kubectl(["create", "configmap", "settings", "-n", OTHER, "--from-literal=a=1"], { kubeconfig: jane });
      expect(elsewhere.stderr).to.contain('configmaps is forbidden: User "jane" cannot create resource "configmaps" in API group "" in the namespace "rbac-b"');
      const nodes = await env.kubectl(["get", "nodes"], { kubeconfig: jane });
      expect(nodes.stderr).to.contain('nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope');
    });

    it("answers kubectl auth can-i, with --list, and kubectl auth whoami", async () => {
      const can = (args: string[]) => env.kubectl(["auth", "can-i", ...args], { kubeconfig: jane });
      const yes = await can(["create", "deployments.apps", "-n", NS]);
      expect([yes.code, yes.stdout.trim()]).to.deep.equal([0, "yes"]);
      const no = await can(["create", "deployments.apps", "-n", OTHER]);
      expect([no.code, no.stdout.trim()]).to.deep.equal([1, "no"]);
      expect((await can(["get", "pods", "--subresource=log", "-n", NS])).stdout.trim()).to.equal("yes");
      expect((await can(["delete", "nodes"])).stdout.trim()).to.equal("no");
      expect((await can(["get", "/api"])).stdout.trim()).to.equal("yes");
      expect((await env.kubectl(["auth", "can-i", "get", "secrets", "-n", NS], { kubeconfig: viewer })).stdout.trim()).to.equal("no");
      expect((await env.kubectl(["auth", "can-i", "get", "pods", "-n", NS], { kubeconfig: viewer })).stdout.trim()).to.equal("yes");
      expect((await ok(["auth", "can-i", "*", "*"])).trim()).to.equal("yes");
      const list = await ok(["auth", "can-i", "--list", "-n", NS], { kubeconfig: jane });
      expect(list).to.match(/Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
      expect(list).to.match(/rolebindings\.rbac\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]/);
      expect(list).to.match(/\s+\[\/api\/\*\]\s+\[\]\s+\[get\]/);
      const elsewhere = await ok(["auth", "can-i", "--list", "-n", OTHER], { kubeconfig: jane });
      expect(elsewhere).to.not.contain("rolebindings");
      const who = await ok(["auth", "whoami"], { kubeconfig: jane });
      expect(who).to.match(/Username\s+jane/);
      expect(who).to.match(/Groups\s+\[devs system:authenticated\]/);
    });

    it("adds the rules of a ClusterRole labelled aggregate-to-view to view, once the aggregation controller runs", async () => {
      await env.tc.startActors([{ def: clusterRoleAggregationController }]);
      await ok(["create", "clusterrole", "secret-peek", "--verb=get,list", "--resource=secrets"]);
      await ok(["label", "clusterrole", "secret-peek", "rbac.authorization.k8s.io/aggregate-to-view=true"]);
      await waitFor(async () => (await env.kubectl(["get", "secrets", "-n", NS], { kubeconfig: viewer })).code === 0, { what: "view aggregates secret-peek", timeoutMs: 20_000 });
      await ok(["delete", "clusterrole", "secret-peek"]);
      await waitFor(async () => (await env.kubectl(["auth", "can-i", "list", "secrets", "-n", NS], { kubeconfig: viewer })).stdout.trim() === "no", { what: "view loses secret-peek", timeoutMs: 20_000 });
    });

    it("lets an admin of a namespace bind what they hold there, never more", async () => {
      expect(await ok(["create", "rolebinding", "bob-edit", "-n", NS, "--clusterrole=edit", "--user=bob"], { kubeconfig: jane })).to.contain("rolebinding.rbac.authorization.k8s.io/bob-edit created");
      const grab = await env.kubectl(["create", "rolebinding", "jane-everything", "-n", NS, "--clusterrole=cluster-admin", "--user=jane"], { kubeconfig: jane });
      expect(grab.code).to.equal(1);
      expect(grab.stderr).to.contain(
        'rolebindings.rbac.authorization.k8s.io "jane-everything" is forbidden: user "jane" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:',
      );
      const role = await env.kubectl(["create", "role", "nodes", "-n", NS, "--verb=get", "--resource=nodes"], { kubeconfig: jane });
      expect(role.stderr).to.contain("is attempting to grant RBAC permissions not currently held");
      expect((await env.kubectl(["get", "rolebinding", "jane-everything", "-n", NS])).stderr).to.contain("NotFound");
    });
  });

  describe("ServiceAccounts and their tokens", () => {
    let sa = "";
    it("gives every namespace a default ServiceAccount", async () => {
      await env.tc.startActors([{ def: serviceAccountController }]);
      await waitFor(async () => (await env.kubectl(["get", "sa", "default", "-n", NS])).code === 0, { what: "default ServiceAccount in rbac-a", timeoutMs: 20_000 });
      expect(await ok(["get", "serviceaccounts", "-n", OTHER])).to.match(/NAME\s+SECRETS\s+AGE\ndefault\s+0\s+\S+/);
    });

    it("issues a token with kubectl create token that works as a bearer token, with the ServiceAccount's RBAC rights", async () => {
      await ok(["create", "serviceaccount", "robot", "-n", NS]);
      const token = (await ok(["create", "token", "robot", "-n", NS, "--duration=15m"])).trim();
      const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
      expect(claims.sub).to.equal("system:serviceaccount:rbac-a:robot");
      expect(claims.exp - claims.iat).to.equal(900);
      expect(claims["kubernetes.io"].namespace).to.equal(NS);
      sa = kubeconfigFor("robot", token);
      const who = await ok(["auth", "whoami"], { kubeconfig: sa });
      expect(who).to.match(/Username\s+system:serviceaccount:rbac-a:robot/);
      expect(who).to.match(/Groups\s+\[system:serviceaccounts system:serviceaccounts:rbac-a system:authenticated\]/);
      const denied = await env.kubectl(["get", "pods", "-n", NS], { kubeconfig: sa });
      expect(denied.stderr).to.contain('pods is forbidden: User "system:serviceaccount:rbac-a:robot" cannot list resource "pods" in API group "" in the namespace "rbac-a"');
      await ok(["create", "rolebinding", "robot-view", "-n", NS, "--clusterrole=view", "--serviceaccount=rbac-a:robot"]);
      await waitFor(async () => (await env.kubectl(["get", "pods", "-n", NS], { kubeconfig: sa })).code === 0, { what: "robot may list pods in rbac-a" });
      expect((await env.kubectl(["get", "pods", "-n", OTHER], { kubeconfig: sa })).stderr).to.contain("forbidden");
      expect((await env.kubectl(["auth", "can-i", "create", "pods", "-n", NS], { kubeconfig: sa })).stdout.trim()).to.equal("no");
    });

    it("refuses a token shorter than 10 minutes, and stops accepting a token once its ServiceAccount is gone", async () => {
      const short = await env.kubectl(["create", "token", "robot", "-n", NS, "--duration=1m"]);
      expect(short.stderr).to.contain('TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
      await ok(["delete", "serviceaccount", "robot", "-n", NS]);
      await waitFor(async () => (await env.kubectl(["get", "pods", "-n", NS], { kubeconfig: sa })).stderr.includes("You must be logged in to the server"), { what: "the token is refused" });
    });
  });

  describe("client certificates", () => {
    const certKubeconfig = (name: string, pair: { certPem: string; keyPem: string }) => {
      const path = join(env.dir, `${name}-cert-kubeconfig`);
      writeKubeconfig(path, { server: env.url, caPem: env.caPem, token: "", clientCert: pair });
      return path;
    };
    const ca = () => ({ certPem: env.caPem, keyPem: readFileSync(join(env.dir, "pki", "ca.key"), "utf8") });

    it("authenticates the CN as the user and each O as a group, for certificates the cluster CA signed", async () => {
      const carol = certKubeconfig("carol", generateClientCert(ca(), "carol", ["devs"]));
      expect(await ok(["auth", "whoami"], { kubeconfig: carol })).to.match(/Username\s+carol[\s\S]*Groups\s+\[devs system:authenticated\]/);
      expect((await env.kubectl(["get", "pods", "-n", NS], { kubeconfig: carol })).code, "devs may read pods in rbac-a").to.equal(0);
      expect((await env.kubectl(["get", "nodes"], { kubeconfig: carol })).stderr).to.contain('nodes is forbidden: User "carol" cannot list resource "nodes"');
      const root = certKubeconfig("root", generateClientCert(ca(), "root", ["system:masters"]));
      expect((await env.kubectl(["get", "nodes"], { kubeconfig: root })).code).to.equal(0);
    });

    it("refuses a certificate of another CA", async () => {
      const mallory = certKubeconfig("mallory", generateClientCert(generateCa(), "admin", ["system:masters"]));
      const r = await env.kubectl(["get", "nodes", "-o", "name"], { kubeconfig: mallory });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal("");
      // 401 either way: kubectl words it by which of its requests met it.
      expect(r.stderr, r.stderr).to.match(/You must be logged in to the server|Error from server: Unauthorized/);
    });
  });
});
