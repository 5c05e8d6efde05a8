/**
 * A pod's own identity, as a user sees it: admission gives every pod a ServiceAccount and the
 * projected `kube-api-access-*` volume; the kubelet (process engine) writes the bound token, the
 * cluster CA and the namespace under /var/run/secrets/kubernetes.io/serviceaccount; the Python
 * client's `load_incluster_config()` inside the pod then lists the pods its RoleBinding allows and
 * is refused elsewhere. Tokens expire, and a pod's token ends with the pod. TokenReview says whom
 * a token names.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

const script = `
import sys, time
from kubernetes import client, config
config.load_incluster_config()
v1 = client.CoreV1Api()
print("own=" + ",".join(sorted(p.metadata.name for p in v1.list_namespaced_pod("sa-a").items)), flush=True)
try:
    v1.list_namespaced_pod("sa-b")
    print("other=allowed", flush=True)
except client.ApiException as e:
    print("other=%d %s" % (e.status, e.reason), flush=True)
time.sleep(3600)
`;

describe("ServiceAccount identity in pods (process engine)", function () {
  this.timeout(120_000);
  let env: ApiEnv;
  let skewMs = 0;
  const node = "sa-node";
  const ok = async (args: string[], o: { kubeconfig?: string } = {}) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000, ...o });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startApiEnv({ now: () => Date.now() + skewMs });
    await env.tc.startActors(withPodCleanup([
      { def: ACTORS.kubelet!, opts: { nodeName: node, engine: "process", dataDir: env.dir } },
      { def: ACTORS["serviceaccount-controller"]!, opts: {} },
    ]));
    await ok(["create", "namespace", "sa-a"]);
    await ok(["create", "namespace", "sa-b"]);
    await waitFor(async () => (await env.kubectl(["get", "serviceaccount", "default", "-n", "sa-a"])).code === 0, { timeoutMs: 20_000, what: "the default ServiceAccount" });
    await ok(["create", "rolebinding", "pod-reader", "-n", "sa-a", "--clusterrole=view", "--serviceaccount=sa-a:default"]);
    const f = join(env.dir, "pod.yaml");
    writeFileSync(f, `apiVersion: v1
kind: Pod
metadata: {name: client, namespace: sa-a}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: python
    command: ["/usr/bin/python3", "-c", ${JSON.stringify(script)}]
---
apiVersion: v1
kind: Pod
metadata: {name: no-token, namespace: sa-a}
spec:
  nodeName: ${node}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: sh, command: ["sh", "-c", "cat ${SA_DIR}/token 2>&1; echo; sleep 3600"]}
`);
    await ok(["apply", "-f", f]);
  });

  after(async () => {
    if (!env) return;
    for (const p of ["client", "no-token", "victim"]) await env.kubectl(["delete", "pod", p, "-n", "sa-a", "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
    await env.stop();
  });

  it("gives every pod the default ServiceAccount and the kube-api-access volume, unless it opts out", async () => {
    const spec = JSON.parse(await ok(["get", "pod", "client", "-n", "sa-a", "-o", "json"])).spec;
    expect(spec.serviceAccountName).to.equal("default");
    const vol = spec.volumes.find((v: { name: string }) => v.name.startsWith("kube-api-access-"));
    expect(vol.projected.sources[0].serviceAccountToken.path).to.equal("token");
    expect(spec.containers[0].volumeMounts).to.deep.include({ name: vol.name, readOnly: true, mountPath: SA_DIR });
    const off = JSON.parse(await ok(["get", "pod", "no-token", "-n", "sa-a", "-o", "json"])).spec;
    expect(off.serviceAccountName).to.equal("default");
    expect(off.volumes ?? []).to.have.length(0);
  });

  it("lets the Python client inside the pod list pods of its namespace and refuses another namespace", async () => {
    const logs = await waitFor(async () => {
      const r = await env.kubectl(["logs", "client", "-n", "sa-a"]);
      return r.code === 0 && r.stdout.includes("other=") ? r.stdout : undefined;
    }, { timeoutMs: 60_000, what: "the in-cluster client's output" });
    expect(logs).to.match(/own=.*client/);
    expect(logs).to.include("other=403 Forbidden");
    const files = await ok(["exec", "client", "-n", "sa-a", "--", "sh", "-c", `cat ${SA_DIR}/namespace; echo; head -c 27 ${SA_DIR}/ca.crt; echo; env | grep ^KUBERNETES_SERVICE_`]);
    expect(files).to.include("sa-a");
    expect(files).to.include("-----BEGIN CERTIFICATE-----");
    expect(files).to.match(/KUBERNETES_SERVICE_HOST=127\.0\.0\.1/);
    const noToken = await ok(["logs", "no-token", "-n", "sa-a"]);
    expect(noToken).to.match(/No such file or directory/);
  });

  it("names the pod's ServiceAccount in a TokenReview, and the token ends when the pod is deleted", async () => {
    const f = join(env.dir, "victim.yaml");
    writeFileSync(f, `apiVersion: v1
kind: Pod
metadata: {name: victim, namespace: sa-a}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: sh, command: ["sleep", "3600"]}
`);
    await ok(["apply", "-f", f]);
    const token = await waitFor(async () => {
      const r = await env.kubectl(["exec", "victim", "-n", "sa-a", "--", "cat", `${SA_DIR}/token`]);
      return r.code === 0 && r.stdout.split(".").length === 3 ? r.stdout.trim() : undefined;
    }, { timeoutMs: 60_000, what: "the projected token" });
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims["kubernetes.io"].pod.name).to.equal("victim");
    expect(claims.exp - claims.iat).to.equal(3607);
    const review = join(env.dir, "review.json");
    writeFileSync(review, JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } }));
    const answered = JSON.parse(await ok(["create", "-f", review, "-o", "json"]));
    expect(answered.status.authenticated).to.equal(true);
    expect(answered.status.user.username).to.equal("system:serviceaccount:sa-a:default");
    expect(answered.spec.token ?? "").to.equal("");
    expect((await ok(["--token", token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]))).to.equal("system:serviceaccount:sa-a:default");
    await ok(["delete", "pod", "victim", "-n", "sa-a", "--grace-period=0", "--force", "--wait=true"]);
    await waitFor(async () => (await env.kubectl(["--token", token, "auth", "whoami"])).code !== 0, { timeoutMs: 10_000, what: "the deleted pod's token to stop working" });
    const r = await env.kubectl(["--token", token, "get", "pods", "-n", "sa-a"]);
    expect(r.stderr).to.include("You must be logged in to the server");
    const again = JSON.parse(await ok(["create", "-f", review, "-o", "json"]));
    expect(again.status.authenticated).to.equal(false);
  });

  it("stops accepting a token once it has expired", async () => {
    const token = (await ok(["create", "token", "default", "-n", "sa-a", "--duration", "10m"])).trim();
    expect(await ok(["--token", token, "get", "pods", "-n", "sa-a", "-o", "name"])).to.include("pod/client");
    skewMs = 11 * 60_000;
    try {
      const r = await env.kubectl(["--token", token, "get", "pods", "-n", "sa-a"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.include("You must be logged in to the server");
    } finally {
      skewMs = 0;
    }
  });
});
