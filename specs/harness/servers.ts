/** Helpers for specs that run several Flotilla servers: HTTPS to one api-server, JetStream views over the system account. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { RunningServers } from "../../cli/up-servers.ts";
import { Agent, request } from "node:https";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connectNats } from "../../runtime/host.ts";
import { userUrl } from "../../cli/server-run.ts";
import { readPids } from "../../runtime/cluster/server-config.ts";

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One api-server over HTTPS with the cluster CA and the admin token. */
export function apiOf(c: RunningServers, url: string, timeoutMs = 3000) {
  const ca = readFileSync(join(c.servers[0]!.dir, "pki", "ca.crt"), "utf8");
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca });
  const u = new URL(url);
  const call = (method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        { host: u.hostname, port: u.port, path, method, agent, timeout: timeoutMs, headers: { authorization: `Bearer ${c.adminToken}`, ...(data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {}) } },
        (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
            } catch (e) {
              reject(e as Error);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(data);
    });
  return { call, close: () => agent.destroy() };
}

/** A system-account connection and a cluster-user connection to every live server. */
export async function adminConnections(c: RunningServers): Promise<{ sys: NatsConnection; nc: NatsConnection; close(): Promise<void> }> {
  const sys = await connectNats(userUrl(c.natsUrl, c.token, "sys"), "spec-sys", undefined, { tls: { caFile: c.caFile } });
  const nc = await connectNats(userUrl(c.natsUrl, c.token), "spec-admin", undefined, { tls: { caFile: c.caFile } });
  return {
    sys,
    nc,
    async close() {
      await sys.close();
      await nc.close();
    },
  };
}

/** The server a pid belongs to. */
export function serverOf(c: RunningServers, pid: number): string | undefined {
  return c.servers.find((s) => readPids(s.dir).includes(pid))?.name;
}

/** The lines of a nats-server log that tell its cluster's story: meta and stream leaders (not each consumer's), quorum, catch-ups, peers, warnings and errors. */
const CLUSTER_LOG_LINE = /leader|quorum|Catchup|catchup|peer|stepdown|\[WRN\]|\[ERR\]/;

/**
 * For a failed test: the last `lines` telling lines of each server's nats-server log and of its
 * own log, so that a failure seen only in CI output still shows what the NATS cluster did.
 */
export function clusterLogTails(c: RunningServers, lines = 25): string {
  const tail = (file: string, keep: (l: string) => boolean) => {
    try {
      return readFileSync(file, "utf8").split("\n").filter(keep).slice(-lines);
    } catch {
      return ["(no log)"];
    }
  };
  return c.servers
    .map((s) => [`── ${s.name}: nats-server`, ...tail(join(s.dir, "nats", "nats-server.log"), (l) => CLUSTER_LOG_LINE.test(l) && !l.includes("consumer leader")), `── ${s.name}: server`, ...tail(join(s.dir, "server.log"), (l) => / (WARN|ERROR) /.test(l))].join("\n"))
    .join("\n");
}

/**
 * In a describe block: after each failed test, prints `clusterLogTails` of the servers `servers()`
 * returns (none yet: nothing), so a failure seen only in a CI log still shows what the NATS
 * cluster did.
 */
export function printClusterLogsOnFailure(servers: () => RunningServers | undefined): void {
  afterEach(function () {
    const c = servers();
    if (this.currentTest?.state === "failed" && c) process.stdout.write(`the servers' logs at the failure:\n${clusterLogTails(c)}\n`);
  });
}
