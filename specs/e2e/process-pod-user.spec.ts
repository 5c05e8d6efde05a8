/**
 * Who a process-engine pod runs as, through the real kubectl, with a kubelet running as root: by
 * default the dedicated `flotilla-pod` user, else its securityContext's runAsUser / runAsGroup /
 * supplementalGroups / fsGroup; it cannot read the cluster's data dir (tokens.csv, the CA key),
 * still reads its configMap, secret and ServiceAccount token volumes and writes its working
 * directory; `kubectl exec` runs as the same user; `runAsNonRoot` refuses root with Kubernetes'
 * text; and the default terminationMessagePath /dev/termination-log becomes the terminated
 * state's message.
 */
import { expect } from "chai";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { readPasswd, POD_USER } from "../../actors/kubelet/engines/process-user.ts";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

describe("pod users on the process engine (kubelet as root)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const ns = "users";
  const node = "user-node";
  const mnt = `/run/flotilla-user-spec-${process.pid}`;
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = async (name: string, text: string) => {
    const f = join(env.dir, name);
    writeFileSync(f, text);
    return ok(["apply", "-f", f]);
  };
  const jsonpath = (pod: string, path: string) => ok(["get", "pod", pod, "-n", ns, "-o", `jsonpath={${path}}`]);
  const logUntil = (pod: string, marker: string) =>
    waitFor(async () => {
      const r = await env.kubectl(["logs", pod, "-n", ns]);
      return r.code === 0 && r.stdout.includes(marker) ? r.stdout : undefined;
    }, { timeoutMs: 60_000, what: `${pod}'s log` });
  const pod = (name: string, script: string, extra = "", container = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", ${JSON.stringify(script)}]
${container}`;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    env = await startApiEnv();
    await env.tc.startActors(withPodCleanup([
      { def: ACTORS.kubelet!, opts: { nodeName: node, engine: "process", dataDir: env.dir, backoffBaseMs: 200 } },
      { def: ACTORS["serviceaccount-controller"]!, opts: {} },
    ]));
    await ok(["create", "namespace", ns]);
    await waitFor(async () => (await env.kubectl(["get", "serviceaccount", "default", "-n", ns])).code === 0, { timeoutMs: 20_000, what: "the default ServiceAccount" });
    await apply("objects.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: ${ns}}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ${ns}}
stringData: {password: s3cret}
`);
  });
  after(async () => {
    if (!env) return;
    await env.kubectl(["delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
    await env.stop();
  });

  it("runs a pod as the dedicated flotilla-pod user, which cannot read the data dir but writes its working directory", async () => {
    // The cluster's secrets are there, in the kubelet's data dir, for root to read.
    expect(existsSync(join(env.dir, "tokens.csv"))).to.equal(true);
    expect(existsSync(join(env.dir, "pki", "ca.key"))).to.equal(true);
    await apply("who.yaml", pod("who", `echo uid=$(id -u) gid=$(id -g) groups=$(id -G)
echo kept > here && echo work=$(cat here)
cat ${env.dir}/tokens.csv; echo tokens-exit=$?
cat ${env.dir}/pki/ca.key; echo cakey-exit=$?
echo ready; exec sleep 3600`));
    const logs = await logUntil("who", "ready");
    const u = readPasswd().byName.get(POD_USER);
    expect(u, "the flotilla-pod user exists on the node").to.not.equal(undefined);
    expect(u!.uid).to.not.equal(0);
    expect(logs).to.contain(`uid=${u!.uid} gid=${u!.gid} groups=${u!.gid}\n`);
    expect(logs).to.contain("work=kept");
    expect(logs).to.match(/tokens\.csv: Permission denied/);
    expect(logs).to.contain("tokens-exit=1");
    expect(logs).to.match(/ca\.key: Permission denied/);
    expect(logs).to.contain("cakey-exit=1");
    expect(logs).to.not.match(/admin/);
  });

  it("runs kubectl exec as the pod's user", async () => {
    const u = readPasswd().byName.get(POD_USER)!;
    expect((await ok(["exec", "who", "-n", ns, "--", "id", "-u"])).trim()).to.equal(String(u.uid));
    // In the pod's working directory, which the shell can name and the user can write.
    const uid = await jsonpath("who", ".metadata.uid");
    const sh = await env.kubectl(["exec", "who", "-n", ns, "--", "sh", "-c", "pwd; echo made-by-exec > by-exec; cat by-exec"]);
    expect([sh.code, sh.stdout, sh.stderr]).to.deep.equal([0, `${join(env.dir, "kubelet", env.tc.cluster, node, "pods", uid)}\nmade-by-exec\n`, ""]);
    const r = await env.kubectl(["exec", "who", "-n", ns, "--", "cat", join(env.dir, "tokens.csv")]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("Permission denied");
  });

  it("honours runAsUser, runAsGroup (the container's over the pod's), supplementalGroups and fsGroup, and keeps volumes readable", async () => {
    await apply("custom.yaml", pod("custom", `echo uid=$(id -u) gid=$(id -g) groups=$(id -G)
echo cfg=$(cat ${mnt}/cfg/greeting) sec=$(cat ${mnt}/sec/password) token-bytes=$(wc -c < ${SA}/token)
echo sec-stat=$(stat -L -c '%u %g %a' ${mnt}/sec/password) token-stat=$(stat -L -c '%u %g %a' ${SA}/token)
echo made > ${mnt}/scratch/f && echo scratch-group=$(stat -c %g ${mnt}/scratch/f)
echo ready; exec sleep 3600`, `  securityContext: {runAsUser: 1234, runAsGroup: 1111, fsGroup: 3000, supplementalGroups: [4000]}
  volumes:
  - {name: cfg, configMap: {name: web}}
  - {name: sec, secret: {secretName: creds, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
`, `    securityContext: {runAsGroup: 2345}
    volumeMounts:
    - {name: cfg, mountPath: ${mnt}/cfg}
    - {name: sec, mountPath: ${mnt}/sec}
    - {name: scratch, mountPath: ${mnt}/scratch}
`));
    const logs = await logUntil("custom", "ready");
    expect(logs).to.contain("uid=1234 gid=2345 groups=2345 3000 4000\n");
    expect(logs).to.match(/cfg=hello sec=s3cret token-bytes=[1-9]\d+/);
    // Kubernetes' fsGroup: group 3000 with group read; the token is 0600 plus group read.
    expect(logs).to.contain("sec-stat=1234 3000 440 token-stat=1234 3000 640");
    expect(logs).to.contain("scratch-group=3000");
  });

  it("gives the default user its 0400 secret and a 0600 token that no other user can read", async () => {
    await apply("vols.yaml", pod("vols", `echo sec=$(cat ${mnt}/sec2/password) sec-stat=$(stat -L -c '%u %a' ${mnt}/sec2/password) token-stat=$(stat -L -c '%u %a' ${SA}/token)
echo ready; exec sleep 3600`, `  volumes:
  - {name: sec, secret: {secretName: creds, defaultMode: 0400}}
`, `    volumeMounts:
    - {name: sec, mountPath: ${mnt}/sec2}
`));
    const logs = await logUntil("vols", "ready");
    const u = readPasswd().byName.get(POD_USER)!;
    expect(logs).to.contain(`sec=s3cret sec-stat=${u.uid} 400 token-stat=${u.uid} 600`);
  });

  it("runs as root when runAsUser is 0, and refuses it under runAsNonRoot with CreateContainerConfigError", async () => {
    await apply("root.yaml", pod("root", "echo uid=$(id -u); echo ready; exec sleep 3600", "  securityContext: {runAsUser: 0}\n"));
    expect(await logUntil("root", "ready")).to.contain("uid=0\n");
    await apply("nonroot.yaml", pod("nonroot", "echo should-not-run", "  securityContext: {runAsUser: 0, runAsNonRoot: true}\n"));
    const reason = await waitFor(async () => (await jsonpath("nonroot", ".status.containerStatuses[0].state.waiting.reason")) || undefined, { timeoutMs: 60_000, what: "the waiting reason" });
    expect(reason).to.equal("CreateContainerConfigError");
    const uid = await jsonpath("nonroot", ".metadata.uid");
    expect(await jsonpath("nonroot", ".status.containerStatuses[0].state.waiting.message")).to.equal(`container's runAsUser breaks non-root policy (pod: "nonroot_${ns}(${uid})", container: main)`);
    // Without runAsUser the default user is not root: runAsNonRoot lets it run.
    await apply("nonroot-ok.yaml", pod("nonroot-ok", "echo uid=$(id -u); echo ready; exec sleep 3600", "  securityContext: {runAsNonRoot: true}\n"));
    expect(await logUntil("nonroot-ok", "ready")).to.not.contain("uid=0\n");
  });

  it("reports what the container wrote to the default /dev/termination-log, and still falls back to the log when it wrote nothing", async () => {
    await apply("bye.yaml", pod("bye", "echo dev=$(ls /dev | tr '\\n' ' '); echo bye > /dev/termination-log; exit 1"));
    await apply("fallback.yaml", pod("fallback", "echo 'fatal: disk on fire'; exit 2", "", "    terminationMessagePolicy: FallbackToLogsOnError\n"));
    await apply("both.yaml", pod("both", "echo from-log; echo from-file > /dev/termination-log; exit 3", "", "    terminationMessagePolicy: FallbackToLogsOnError\n"));
    const msg = (p: string) => waitFor(async () => (await jsonpath(p, ".status.containerStatuses[0].state.terminated.exitCode")) !== "" ? jsonpath(p, ".status.containerStatuses[0].state.terminated.message") : undefined, { timeoutMs: 60_000, what: `${p} to end` });
    expect(await msg("bye")).to.equal("bye\n");
    expect(await jsonpath("bye", ".status.containerStatuses[0].state.terminated.exitCode")).to.equal("1");
    // The pod's /dev is its own: the usual devices, none of the node's disks or terminals.
    expect((await env.kubectl(["logs", "bye", "-n", ns])).stdout).to.equal("dev=fd full null ptmx pts random shm stderr stdin stdout termination-log tty urandom zero\n");
    expect(await msg("fallback")).to.equal("fatal: disk on fire\n");
    expect(await msg("both")).to.equal("from-file\n");
  });
});
