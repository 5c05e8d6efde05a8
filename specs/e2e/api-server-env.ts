/**
 * For e2e specs of the HTTP API: a test cluster (nats-server + store) plus an api-server on a free
 * port, a temp data dir, a kubeconfig with the cluster CA and the admin token, and a fresh HOME so
 * kubectl's discovery cache starts cold.
 */
import type { ChildProcess } from "node:child_process";
import type { TestCluster } from "../harness/cluster.ts";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestCluster } from "../harness/cluster.ts";
import { freePort } from "../../runtime/nats-server.ts";
import type { ApiServerOptions } from "../../actors/api-server/index.ts";
import { apiServer } from "../../actors/api-server/index.ts";
import { writeKubeconfig } from "../../actors/api-server/kubeconfig.ts";
import { ensureTokens } from "../../actors/api-server/tokens.ts";
import { ensureEncryptionConfig } from "../../actors/store/encryption-config.ts";

export const KUBECTL = "/usr/bin/kubectl";

export interface ApiEnv {
  tc: TestCluster;
  url: string;
  dir: string;
  home: string;
  kubeconfig: string;
  caPem: string;
  tokens: { admin: string; view: string };
  kubectl(args: string[], o?: { input?: string; kubeconfig?: string; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** A kubectl left running (e.g. `get -w`): its output so far, and a stop(). */
  kubectlBackground(args: string[]): { child: ChildProcess; output: () => string; stop(): void };
  stop(): Promise<void>;
}

/** `api` adds api-server options (limits, for instance) to the port and data dir chosen here. */
export async function startApiEnv(api: Omit<ApiServerOptions, "port" | "dataDir"> = {}, o: { encryptSecrets?: boolean } = {}): Promise<ApiEnv> {
  const dir = mkdtempSync(join(tmpdir(), "flotilla-api-"));
  const home = join(dir, "home");
  const port = await freePort();
  const tokens = ensureTokens(dir);
  // Secrets encrypted at rest, as `flotilla up` stores them: the data dir's key file.
  const storeOpts = o.encryptSecrets ? { encryptionConfig: ensureEncryptionConfig(dir) } : undefined;
  const tc = await startTestCluster({ actors: [{ def: apiServer, opts: { ...api, port, dataDir: dir } }], ...(storeOpts ? { storeOpts } : {}) });
  const url = `https://127.0.0.1:${port}`;
  const caPem = readFileSync(join(dir, "pki", "ca.crt"), "utf8");
  const kubeconfig = join(home, ".kube", "config");
  writeKubeconfig(kubeconfig, { server: url, caPem, token: tokens.admin });
  const env = (kc: string) => ({ ...process.env, HOME: home, KUBECONFIG: kc });
  const children: ChildProcess[] = [];
  return {
    tc,
    url,
    dir,
    home,
    kubeconfig,
    caPem,
    tokens,
    kubectl(args, o = {}) {
      return new Promise((resolve) => {
        const child = spawn(KUBECTL, args, { env: env(o.kubeconfig ?? kubeconfig), stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const t = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 30_000);
        child.on("close", (code) => {
          clearTimeout(t);
          resolve({ code, stdout, stderr });
        });
        child.stdin.end(o.input ?? "");
      });
    },
    kubectlBackground(args) {
      const child = spawn(KUBECTL, args, { env: env(kubeconfig), stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      return { child, output: () => out, stop: () => void child.kill("SIGTERM") };
    },
    async stop() {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      await tc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
