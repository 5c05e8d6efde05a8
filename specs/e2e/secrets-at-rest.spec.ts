/**
 * Secrets encrypted at rest, as a user (or someone holding a copy of the disk) sees them: kubectl
 * reads a Secret back, the value in KV is AES-GCM ciphertext in Kubernetes' envelope, no file of
 * the data dir, of a process-engine pod or of JetStream holds the value in clear, and the key can
 * be rotated with the documented steps (new key first, rewrite the Secrets, drop the old key).
 */
import { expect } from "chai";
import { readFileSync, readdirSync, lstatSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Kvm } from "@nats-io/kv";
import { parse, stringify } from "yaml";
import type { ApiEnv } from "./api-server-env.ts";
import type { EncryptionConfiguration } from "../../bus/encryption.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor, withPodCleanup } from "../harness/cluster.ts";
import { keyOf } from "../../bus/kv.ts";
import { subjects } from "../../bus/subjects.ts";
import { encryptionConfigPath } from "../../actors/store/encryption-config.ts";

/** Every regular file under `dir` whose bytes contain `needle`. */
function filesHolding(dir: string, needle: Buffer): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

describe("Secrets encrypted at rest", function () {
  this.timeout(120_000);
  let env: ApiEnv;
  const value = `v-${randomBytes(12).toString("hex")}`;
  const node = "enc-node";
  const ok = async (args: string[], input?: string) => {
    const r = await env.kubectl(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const raw = async (name: string) => {
    const kv = await new Kvm(env.tc.nc).open(subjects(env.tc.cluster).bucket());
    const e = await kv.get(keyOf("secrets", "enc", name));
    return Buffer.from(e!.value);
  };

  before(async function () {
    env = await startApiEnv({}, { encryptSecrets: true });
    if (process.getuid?.() === 0) await env.tc.startActors(withPodCleanup([{ def: ACTORS.kubelet!, opts: { nodeName: node, engine: "process", dataDir: env.dir } }]));
    await ok(["create", "namespace", "enc"]);
    await ok(["create", "secret", "generic", "db", "-n", "enc", `--from-literal=password=${value}`]);
  });
  after(async () => {
    if (!env) return;
    await env.kubectl(["delete", "pod", "uses-secret", "-n", "enc", "--grace-period=0", "--force", "--wait=true"]).catch(() => undefined);
    await env.stop();
  });

  it("reads the Secret back through kubectl while KV holds only ciphertext", async () => {
    expect(await ok(["get", "secret", "db", "-n", "enc", "-o", "jsonpath={.data.password}"])).to.equal(Buffer.from(value).toString("base64"));
    const stored = await raw("db");
    expect(stored.subarray(0, 23).toString()).to.equal("k8s:enc:aesgcm:v1:key1:");
    expect(stored.includes(Buffer.from(value))).to.equal(false);
    expect(stored.includes(Buffer.from(Buffer.from(value).toString("base64")))).to.equal(false);
    expect((statSync(encryptionConfigPath(env.dir)).mode & 0o777).toString(8)).to.equal("600");
  });

  it("leaves the value in clear in no file of the data dir, a pod's directory or JetStream", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const f = join(env.dir, "pod.yaml");
    writeFileSync(f, `apiVersion: v1
kind: Pod
metadata: {name: uses-secret, namespace: enc}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: sh
    command: ["sh", "-c", "echo len=\${#PASSWORD}; sleep 3600"]
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
`);
    await ok(["apply", "-f", f]);
    await waitFor(async () => (await env.kubectl(["logs", "uses-secret", "-n", "enc"])).stdout.includes(`len=${value.length}`), { timeoutMs: 60_000, what: "the pod to see its secret" });
    expect((await ok(["exec", "uses-secret", "-n", "enc", "--", "sh", "-c", "echo $PASSWORD"])).trim(), "exec still sees the container's env").to.equal(value);
    for (const dir of [env.dir, env.tc.server.dataDir]) {
      expect(filesHolding(dir, Buffer.from(value)), dir).to.deep.equal([]);
      expect(filesHolding(dir, Buffer.from(Buffer.from(value).toString("base64"))), dir).to.deep.equal([]);
    }
  });

  it("rotates the key: a new first key, the Secrets rewritten, the old key removed", async () => {
    const path = encryptionConfigPath(env.dir);
    const cfg = parse(readFileSync(path, "utf8")) as EncryptionConfiguration;
    const aes = cfg.resources[0]!.providers[0] as { aesgcm: { keys: { name: string; secret: string }[] } };
    const old = aes.aesgcm.keys[0]!;
    aes.aesgcm.keys = [{ name: "key2", secret: randomBytes(32).toString("base64") }, old];
    writeFileSync(path, stringify(cfg));
    await waitFor(async () => {
      const all = await ok(["get", "secrets", "-n", "enc", "-o", "json"]);
      await ok(["replace", "--validate=false", "-f", "-"], all);
      return (await raw("db")).subarray(0, 23).toString() === "k8s:enc:aesgcm:v1:key2:";
    }, { timeoutMs: 20_000, what: "the Secret rewritten with key2" });
    aes.aesgcm.keys = [aes.aesgcm.keys[0]!];
    writeFileSync(path, stringify(cfg));
    // Still readable with key1 gone: it was rewritten with key2.
    await waitFor(async () => (await env.kubectl(["get", "secret", "db", "-n", "enc", "-o", "jsonpath={.data.password}"])).stdout === Buffer.from(value).toString("base64"), { timeoutMs: 10_000, what: "the rewritten Secret" });
  });
});
