/**
 * A small HTTPS client for the api-server (bearer token, the cluster CA, keep-alive), and a
 * fixed-rate (open-loop) load generator whose latencies count from each request's scheduled time,
 * so a slow server cannot hide its queueing (no coordinated omission).
 */
import https from "node:https";
import { latencies } from "./hist.ts";

export interface Api {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }>;
  /** Opens a streaming GET; `onLine` gets each newline-delimited chunk; resolves once headers arrived. */
  stream(path: string, onLine: (line: string) => void): Promise<{ close(): void }>;
  destroy(): void;
}

export function apiClient(o: { baseUrl: string; token: string; ca: string; maxSockets?: number }): Api {
  const url = new URL(o.baseUrl);
  const agent = new https.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 64, ca: o.ca });
  const headers = { authorization: `Bearer ${o.token}`, accept: "application/json" };
  return {
    request: (method, path, body) =>
      new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          { host: url.hostname, port: url.port, path, method, agent, headers: { ...headers, ...(data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {}) } },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (text += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on("error", reject);
        req.end(data);
      }),
    stream: (path, onLine) =>
      new Promise((resolve, reject) => {
        const req = https.request({ host: url.hostname, port: url.port, path, method: "GET", ca: o.ca, agent: false, headers }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            buf += c;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line.trim()) onLine(line);
            }
          });
          res.on("error", () => undefined);
          resolve({ close: () => req.destroy() });
        });
        req.on("error", reject);
        req.end();
      }),
    destroy: () => agent.destroy(),
  };
}

/** Starts `fn(i)` at `rate` per second for `seconds`; latency from each call's scheduled start. */
export async function fixedRate(rate: number, seconds: number, fn: (i: number) => Promise<void>): Promise<{ p50Ms: number; p99Ms: number; sent: number; errors: number; achievedPerSecond: number }> {
  const h = latencies();
  const total = Math.round(rate * seconds);
  const pending = new Set<Promise<void>>();
  let errors = 0;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const p: Promise<void> = fn(i).then(
      () => h.record(performance.now() - at),
      () => void errors++,
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  const r = { p50Ms: h.percentile(50), p99Ms: h.percentile(99), sent: total, errors, achievedPerSecond: (total - errors) / elapsed };
  h.destroy();
  return r;
}
