/** Plain HTTP requests for specs that go through the proxy (loopback or the project's containers only). */
import http from "node:http";

export function httpGet(host: string, port: number, o: { path?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: o.path ?? "/", agent: false, localAddress: o.localAddress, timeout: o.timeoutMs ?? 3000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body.trim()));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
  });
}

/** Sends `n` requests, `batch` at a time, and counts the answers by body (which backend answered). */
export async function hits(host: string, port: number, n: number, o: { localAddress?: string; batch?: number } = {}): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const batch = o.batch ?? 20;
  for (let i = 0; i < n; i += batch) {
    const bodies = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => httpGet(host, port, { localAddress: o.localAddress })));
    for (const b of bodies) out.set(b, (out.get(b) ?? 0) + 1);
  }
  return out;
}
