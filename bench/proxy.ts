/**
 * Proxy overhead: HTTP requests/s and p99 latency straight to a pod (a Node HTTP server on
 * loopback) and through its Service's ClusterIP (the proxy actor), measured in one run with the same
 * keep-alive client load, and their ratio.
 *
 * @example
 *   const r = await benchProxy();   // { direct: { rps, p99Ms }, proxied: { rps, p99Ms }, ratio }
 *   // node --import tsx bench/proxy.ts [seconds] [concurrency]
 */
import * as hdr from "hdr-histogram-js";
import http from "node:http";
import type { Endpoints, Pod, Service } from "../bus/resources.ts";
import { startNatsServer } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { storeActor } from "../actors/store/index.ts";
import { endpointsController } from "../actors/endpoints-controller/index.ts";
import { proxy } from "../actors/proxy/index.ts";
import { POD_PORTS_ANNOTATION } from "../bus/service-links.ts";
import { runAsMain } from "./lib/main.ts";

export interface LoadResult {
  rps: number;
  p99Ms: number;
}
export interface ProxyBench {
  direct: LoadResult;
  proxied: LoadResult;
  /** proxied rps / direct rps. */
  ratio: number;
}

/** Keeps `concurrency` keep-alive requests in flight for `ms`. */
export async function load(host: string, port: number, ms: number, concurrency: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const until = Date.now() + ms;
  let n = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      http
        .get({ host, port, path: "/", agent }, (res) => {
          res.resume();
          res.on("end", () => {
            h.recordValue(Number((process.hrtime.bigint() - t0) / 1000n));
            n++;
            resolve();
          });
        })
        .on("error", reject);
    });
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  const elapsed = (Date.now() - t0) / 1000;
  agent.destroy();
  const r = { rps: Math.round(n / elapsed), p99Ms: Math.round(h.getValueAtPercentile(99)) / 1000 };
  h.destroy();
  return r;
}

export async function benchProxy(o: { seconds?: number; concurrency?: number } = {}): Promise<ProxyBench> {
  const seconds = o.seconds ?? 3;
  const concurrency = o.concurrency ?? 32;
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench-proxy";
  const server = await startNatsServer({ port: 0 });
  const backend = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  const port = (backend.address() as { port: number }).port;
  const host = await startHost({
    natsUrl: server.url,
    cluster,
    actors: [{ def: storeActor }, { def: endpointsController }, { def: proxy, opts: { nodeName: "bench" } }],
  });
  const nc = await connectNats(server.url, "bench-proxy");
  const store = new StoreClient(nc, cluster);
  try {
    const pod = await store.create<Pod>("pods", "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", labels: { app: "web" }, annotations: { [POD_PORTS_ANNOTATION]: JSON.stringify({ "8080": port }) } },
      spec: { nodeName: "bench", containers: [{ name: "web", image: "node", ports: [{ name: "http", containerPort: 8080 }] }] },
    } as Pod);
    await store.updateStatus("pods", { ...pod, status: { phase: "Running", podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }] } });
    const svc = await store.create<Service>("services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
    } as Service);
    const ip = svc.spec.clusterIP!;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ep = await store.get<Endpoints>("endpoints", "default", "web").catch(() => undefined);
      const ok = (ep?.subsets ?? []).some((s) => (s.addresses ?? []).length > 0) && (await load(ip, 80, 50, 1).then(() => true, () => false));
      if (ok) break;
      if (Date.now() > deadline) throw new Error("the service never became reachable through the proxy");
      await new Promise((r) => setTimeout(r, 50));
    }
    await load("127.0.0.1", port, 500, concurrency); // warm-up
    const direct = await load("127.0.0.1", port, seconds * 1000, concurrency);
    const proxied = await load(ip, 80, seconds * 1000, concurrency);
    return { direct, proxied, ratio: Math.round((proxied.rps / direct.rps) * 100) / 100 };
  } finally {
    await nc.close();
    await host.stop();
    backend.close();
    await server.stop();
  }
}

runAsMain(import.meta.url, () => {
  const [s, c] = process.argv.slice(2).map(Number);
  return benchProxy({ seconds: s || undefined, concurrency: c || undefined });
});
