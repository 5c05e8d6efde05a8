/**
 * A throw-away etcd on loopback (Debian's `etcd-server` package) in a temp dir, and a put client
 * over its JSON gRPC gateway (`POST /v3/kv/put`) with keep-alive connections.
 *
 * @example
 *   const etcd = await startEtcd();   // undefined when no etcd binary is installed
 *   await etcd.put("k", "v");  await etcd.stop();
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import http from "node:http";
import { freePort } from "../runtime/nats-server.ts";
import { ensureDebianPackage } from "./lib/debian.ts";

export interface Etcd {
  version: string;
  put(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

export function etcdVersion(): string | undefined {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? "unknown" : undefined;
}

/**
 * Installs Debian's etcd-server when etcd is missing and this runs as root with apt-get, so the
 * etcd rows are measured on a fresh machine too. Returns why not, when it could not.
 */
export function ensureEtcd(): string | undefined {
  return ensureDebianPackage("etcd", "etcd-server");
}

export async function startEtcd(o: { maxSockets?: number } = {}): Promise<Etcd | undefined> {
  const version = etcdVersion();
  if (!version) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "flotilla-bench-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    "etcd",
    ["--name", "bench", "--data-dir", join(dir, "data"), "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `bench=${peerUrl}`, "--log-level", "error"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 64 });
  const post = (path: string, body: unknown) =>
    new Promise<string>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = http.request({ host: "127.0.0.1", port: client, path, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`etcd ${path}: ${res.statusCode} ${text}`))));
      });
      req.on("error", reject);
      req.end(data);
    });
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const stop = async () => {
    agent.destroy();
    child.kill("SIGTERM");
    await exited;
    process.removeListener("exit", killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited: ${log.slice(-300)}`);
    if (await post("/v3/kv/range", { key: b64("probe") }).then(() => true, () => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("etcd did not answer within 15 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    version,
    put: async (key, value) => void (await post("/v3/kv/put", { key: b64(key), value: b64(value) })),
    stop,
  };
}
