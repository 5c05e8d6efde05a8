/**
 * Store create through the store actor vs a raw JetStream KV put of the same bytes on the same
 * connection, and vs etcd's put (JSON gateway) when an etcd binary is installed — at 1 and 64
 * requests in flight, measured in one run.
 *
 * @example
 *   const r = await benchStore({ n: 2000 });   // { rows: [{ inFlight, store, raw, etcd? }], etcdNote }
 */
import type { ConfigMap } from "../bus/resources.ts";
import { Kvm } from "@nats-io/kv";
import { startNatsServer } from "../runtime/nats-server.ts";
import { startHost, connectNats } from "../runtime/host.ts";
import { StoreClient } from "../bus/store-client.ts";
import { subjects } from "../bus/subjects.ts";
import { storeActor } from "../actors/store/index.ts";
import { closedLoop } from "./lib/hist.ts";
import { ensureEtcd, startEtcd, etcdVersion } from "./etcd.ts";

export interface Load {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}
export interface StoreRow {
  inFlight: number;
  store: Load;
  raw: Load;
  etcd?: Load;
}
export interface StoreBench {
  n: number;
  rows: StoreRow[];
  etcdVersion?: string;
  etcdNote?: string;
}

/** The object both benches write: through the store, and as raw KV bytes. */
export const configMap = (name: string): ConfigMap =>
  ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default", labels: { app: "bench" } }, data: { key: "value-".repeat(8) } }) as ConfigMap;

export async function benchStore(o: { n: number; inFlight?: number[]; onProgress?: (f: number, what: string) => void }): Promise<StoreBench> {
  process.env.FLOTILLA_LOG ??= "warn";
  const cluster = "bench-store";
  const levels = o.inFlight ?? [1, 64];
  const server = await startNatsServer({ port: 0 });
  const host = await startHost({ natsUrl: server.url, cluster, actors: [{ def: storeActor }] });
  const nc = await connectNats(server.url, "bench-store");
  const store = new StoreClient(nc, cluster, 60_000);
  const kv = await new Kvm(nc).open(subjects(cluster).bucket());
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  let etcdNote: string | undefined;
  try {
    etcdNote = ensureEtcd();
    etcd = etcdNote ? undefined : await startEtcd({ maxSockets: Math.max(...levels) });
    if (!etcd) etcdNote ??= "etcd did not start";
  } catch (e) {
    etcdNote = `etcd did not start: ${(e as Error).message}`;
  }
  const rows: StoreRow[] = [];
  const steps = levels.length * (etcd ? 3 : 2);
  let done = 0;
  const tick = (what: string) => o.onProgress?.(++done / steps, what);
  try {
    // Warm-up: the first writes pay for stream and connection setup.
    await closedLoop(200, 8, (i) => store.create("configmaps", "default", configMap(`warm-${i}`)));
    await closedLoop(200, 8, (i) => kv.put(`bench.raw.warm-${i}`, JSON.stringify(configMap(`warm-${i}`))));
    for (const inFlight of levels) {
      const raw = await closedLoop(o.n, inFlight, (i) => kv.put(`bench.raw.c${inFlight}-${i}`, JSON.stringify(configMap(`c${inFlight}-${i}`))));
      tick(`raw KV put, ${inFlight} in flight`);
      const viaStore = await closedLoop(o.n, inFlight, (i) => store.create("configmaps", "default", configMap(`c${inFlight}-${i}`)));
      tick(`store create, ${inFlight} in flight`);
      let viaEtcd: Load | undefined;
      if (etcd) {
        await closedLoop(100, 8, (i) => etcd!.put(`/registry/warm/${i}`, JSON.stringify(configMap(`warm-${i}`))));
        viaEtcd = await closedLoop(o.n, inFlight, (i) => etcd!.put(`/registry/configmaps/default/c${inFlight}-${i}`, JSON.stringify(configMap(`c${inFlight}-${i}`))));
        tick(`etcd put, ${inFlight} in flight`);
      }
      rows.push({ inFlight, store: viaStore, raw, etcd: viaEtcd });
    }
    return { n: o.n, rows, etcdVersion: etcd?.version ?? etcdVersion(), etcdNote };
  } finally {
    await etcd?.stop();
    await nc.close();
    await host.stop();
    await server.stop();
  }
}
