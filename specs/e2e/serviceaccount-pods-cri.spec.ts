/**
 * A pod's own identity on the cri engine (a private containerd), as a user sees it through the real
 * kubectl: the kubelet projects the bound token, the cluster CA and the namespace into the
 * container at /var/run/secrets/kubernetes.io/serviceaccount (read-only, in the `..data` layout),
 * the token read from inside the container is accepted by TokenReview and by the API with the
 * ServiceAccount's permissions, and it ends with the pod. A pod that opts out gets no token.
 * (The cri engine has no exec sessions: the containers print what they see.)
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import type { SpecContainerd } from "../harness/cri.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { specContainerd } from "../harness/cri.ts";
import { BUSYBOX_IMAGE } from "../harness/images.ts";

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const NS = "sa-cri";

const show = `echo "token=$(cat ${SA_DIR}/token)"
echo "namespace=$(cat ${SA_DIR}/namespace)"
echo "ca=$(head -n 1 ${SA_DIR}/ca.crt)"
echo "layout=$(readlink ${SA_DIR}/token)"
if touch ${SA_DIR}/x 2>/dev/null; then echo mount=writable; else echo mount=readonly; fi
exec sleep 3600`;

const pods = (node: string) => `apiVersion: v1
kind: Pod
metadata: {name: holder, namespace: ${NS}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", ${JSON.stringify(show)}]
---
apiVersion: v1
kind: Pod
metadata: {name: no-token, namespace: ${NS}}
spec:
  nodeName: ${node}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "cat ${SA_DIR}/token 2>&1; echo; echo done; exec sleep 3600"]
`;

describe("ServiceAccount identity in pods (cri engine)", function () {
  this.timeout(120_000);
  let env: ApiEnv;
  let ctrd: SpecContainerd | undefined;
  const node = "sa-cri-node";
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const logsWith = (pod: string, what: string) =>
    waitFor(async () => {
      const r = await env.kubectl(["logs", pod, "-n", NS]);
      return r.code === 0 && r.stdout.includes(what) ? r.stdout : undefined;
    }, { timeoutMs: 60_000, what: `${what} in the log of ${pod}` });

  before(async function () {
    ctrd = await specContainerd(this, "10.88.253.0/24");
    env = await startApiEnv();
    await env.tc.startActors(withPodCleanup([
      { def: ACTORS.kubelet!, opts: { nodeName: node, engine: "cri", criSocket: ctrd.socket, dataDir: env.dir } },
      { def: ACTORS["serviceaccount-controller"]!, opts: {} },
    ]));
    await ok(["create", "namespace", NS]);
    await waitFor(async () => (await env.kubectl(["get", "serviceaccount", "default", "-n", NS])).code === 0, { timeoutMs: 20_000, what: "the default ServiceAccount" });
    await ok(["create", "rolebinding", "pod-reader", "-n", NS, "--clusterrole=view", `--serviceaccount=${NS}:default`]);
    const f = join(env.dir, "pods.yaml");
    writeFileSync(f, pods(node));
    await ok(["apply", "-f", f]);
  });

  after(async function () {
    this.timeout(120_000);
    if (env) {
      await env.kubectl(["delete", "pods", "--all", "-n", NS, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
      await env.stop();
    }
    await ctrd?.stop();
  });

  it("projects the token, the cluster CA and the namespace into the container, read-only", async () => {
    const logs = await logsWith("holder", "mount=");
    expect(logs).to.match(/^token=[\w-]+\.[\w-]+\.[\w-]+$/m);
    expect(logs).to.include(`namespace=${NS}`);
    expect(logs).to.include("ca=-----BEGIN CERTIFICATE-----");
    expect(logs).to.include("layout=..data/token");
    expect(logs).to.include("mount=readonly");
    const noToken = await logsWith("no-token", "done");
    expect(noToken).to.match(/No such file or directory/);
  });

  it("lets the token from inside the container through TokenReview and the API, as the pod's ServiceAccount, until the pod is deleted", async () => {
    const token = /^token=(\S+)$/m.exec(await logsWith("holder", "mount="))![1]!;
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims["kubernetes.io"].pod.name).to.equal("holder");
    const review = join(env.dir, "review.json");
    writeFileSync(review, JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } }));
    const answered = JSON.parse(await ok(["create", "-f", review, "-o", "json"]));
    expect(answered.status.authenticated).to.equal(true);
    expect(answered.status.user.username).to.equal(`system:serviceaccount:${NS}:default`);
    expect(await ok(["--token", token, "get", "pods", "-n", NS, "-o", "name"])).to.include("pod/holder");
    const other = await env.kubectl(["--token", token, "get", "pods", "-n", "default"]);
    expect(other.code).to.not.equal(0);
    expect(other.stderr).to.include("forbidden");
    await ok(["delete", "pod", "holder", "-n", NS, "--grace-period=0", "--force", "--wait=true"]);
    await waitFor(async () => (await env.kubectl(["--token", token, "auth", "whoami"])).code !== 0, { timeoutMs: 10_000, what: "the deleted pod's token to stop working" });
  });
});
