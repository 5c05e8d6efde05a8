/**
 * Upgrading a single-server data dir to several servers. A standalone JetStream's streams are not
 * taken over by a clustered one, so the objects are carried across: the old server is started
 * alone once more, every key of every bucket is written to `<data-dir>/upgrade/import.json`, and
 * the old NATS dir is kept aside as `nats.single-server/`. The first new server imports the file
 * into its (replicated) buckets before its store starts serving.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { settle } from "./settle.ts";
import { startNatsServer } from "../nats-server.ts";
import { connectNats } from "../host.ts";
import { subjects } from "../../bus/subjects.ts";

export interface ImportFile {
  cluster: string;
  buckets: Record<string, { key: string; value: string }[]>;
}

/** The buckets carried over (the servers' registry is new with the servers). */
const bucketsOf = (cluster: string) => {
  const s = subjects(cluster);
  return [s.bucket(), s.eventsBucket(), s.leasesBucket()];
};

export async function dump(nc: NatsConnection, cluster: string): Promise<ImportFile> {
  const kvm = new Kvm(nc);
  const out: ImportFile = { cluster, buckets: {} };
  for (const name of bucketsOf(cluster)) {
    const kv = await kvm.open(name).catch(() => undefined);
    if (!kv) continue;
    const rows: { key: string; value: string }[] = [];
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e && e.operation === "PUT") rows.push({ key, value: Buffer.from(e.value).toString("base64") });
    }
    out.buckets[name] = rows;
  }
  return out;
}

/** Dumps a single-server data dir's objects (once); undefined when there is nothing to upgrade. */
export async function migrateSingleServer(dataDir: string, cluster: string): Promise<{ objects: number; dumpPath: string } | undefined> {
  const natsDir = join(dataDir, "nats");
  if (!existsSync(join(natsDir, "jetstream")) || existsSync(join(dataDir, "servers"))) return undefined;
  const server = await startNatsServer({ dataDir, port: 0, quiet: true });
  let data: ImportFile;
  try {
    const nc = await connectNats(server.url, "upgrade");
    try {
      data = await dump(nc, cluster);
    } finally {
      await nc.close();
    }
  } finally {
    await server.stop();
  }
  mkdirSync(join(dataDir, "upgrade"), { recursive: true, mode: 0o700 });
  const dumpPath = join(dataDir, "upgrade", "import.json");
  writeFileSync(dumpPath, JSON.stringify(data), { mode: 0o600 });
  renameSync(natsDir, join(dataDir, "nats.single-server"));
  return { objects: Object.values(data.buckets).reduce((n, r) => n + r.length, 0), dumpPath };
}

/**
 * Writes an import file's keys into the cluster's buckets. Each key is created only where the new
 * cluster has none: other servers may already be serving and writing (an api-server registering
 * itself in `default/kubernetes`, a leader's Lease), and what they wrote is newer than the dump. The
 * caller renames the file once it is done, so a restart never imports twice.
 */
export async function importObjects(nc: NatsConnection, path: string): Promise<number> {
  const data = JSON.parse(readFileSync(path, "utf8")) as ImportFile;
  const kvm = new Kvm(nc);
  let n = 0;
  for (const [name, rows] of Object.entries(data.buckets)) {
    // The buckets may have just been created on three servers still electing their leaders.
    const kv = await settle(`opening ${name}`, () => kvm.open(name));
    for (const r of rows) {
      const stored = await settle(`importing ${r.key}`, async () => {
        try {
          await kv.create(r.key, Buffer.from(r.value, "base64"));
          return true;
        } catch (e) {
          // The key exists already (written by the running cluster, or by a try whose answer
          // was lost): keep the newer value. Anything else (a timeout) is tried again.
          if (/wrong last sequence|exists/i.test(String((e as Error).message))) return false;
          throw e;
        }
      });
      if (stored) n++;
    }
  }
  return n;
}
