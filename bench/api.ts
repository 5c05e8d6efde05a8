/**
 * API latency over HTTPS against a whole cluster started by `flotilla up` in its own process (temp
 * data dir, port 0, one simulated node): mutating (POST a ConfigMap) and read (GET one) requests at a fixed rate; and watch
 * delivery with many HTTP watchers: each creates at a fixed rate, latency from the moment the create
 * is sent to the moment each watcher reads its ADDED event.
 *
 * @example
 *   await benchApi({ rate: 200, seconds: 20 });          // { mutating: {p50Ms,p99Ms,…}, read: {…} }
 *   await benchWatch({ watchers: 100, rate: 20, seconds: 10 });
 */
import type { Api } from "./lib/https-client.ts";
import { fixedRate } from "./lib/https-client.ts";
import { spawnUp } from "./lib/cluster-process.ts";
import { latencies } from "./lib/hist.ts";

const NS = "/api/v1/namespaces/default/configmaps";

async function withCluster<T>(fn: (api: Api) => Promise<T>): Promise<T> {
  const c = await spawnUp({ nodes: 1, engine: "simulated", maxSockets: 256 });
  try {
    return await fn(c.api);
  } finally {
    await c.stop();
  }
}

const cm = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data: { k: "v" } });

const expect2xx = (what: string) => (r: { status: number; text: string }) => {
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
};

export async function benchApi(o: { rate: number; seconds: number; onProgress?: (f: number, what: string) => void }) {
  return withCluster(async (api) => {
    // Warm-up (TLS sessions, caches).
    for (let i = 0; i < 50; i++) await api.request("POST", NS, cm(`warm-${i}`)).then(expect2xx("warm-up create"));
    o.onProgress?.(0.05, "warm-up");
    const mutating = await fixedRate(o.rate, o.seconds, (i) => api.request("POST", NS, cm(`m-${i}`)).then(expect2xx("create")));
    o.onProgress?.(0.5, "mutating requests");
    const created = Math.max(1, mutating.sent - mutating.errors);
    const read = await fixedRate(o.rate, o.seconds, (i) => api.request("GET", `${NS}/m-${i % created}`).then(expect2xx("get")));
    o.onProgress?.(1, "read requests");
    return { rate: o.rate, seconds: o.seconds, mutating, read };
  });
}

export async function benchWatch(o: { watchers: number; rate: number; seconds: number; onProgress?: (f: number, what: string) => void }) {
  return withCluster(async (api) => {
    const sentAt = new Map<string, number>();
    const h = latencies();
    let delivered = 0;
    const onLine = (line: string) => {
      const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
      const t = sentAt.get(ev.object?.metadata?.name);
      if (ev.type !== "ADDED" || t === undefined) return;
      h.record(performance.now() - t);
      delivered++;
    };
    const watches = await Promise.all(Array.from({ length: o.watchers }, () => api.stream(`${NS}?watch=true&labelSelector=bench%3Dwatch`, onLine)));
    o.onProgress?.(0.1, `${o.watchers} watchers connected`);
    try {
      const writes = await fixedRate(o.rate, o.seconds, async (i) => {
        sentAt.set(`w-${i}`, performance.now());
        await api.request("POST", NS, cm(`w-${i}`, { bench: "watch" })).then(expect2xx("create"));
      });
      const expected = (writes.sent - writes.errors) * o.watchers;
      const deadline = Date.now() + 30_000;
      while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      o.onProgress?.(1, "events delivered");
      const r = { watchers: o.watchers, events: writes.sent - writes.errors, delivered, expected, p50Ms: h.percentile(50), p99Ms: h.percentile(99) };
      h.destroy();
      return r;
    } finally {
      for (const w of watches) w.close();
    }
  });
}
