/**
 * Run inside a server's network namespace by the partition spec: for `ms` milliseconds, tries to
 * create ConfigMaps through that server, then asks which actors there lead. Prints one JSON line:
 * `{ "acked": [names…], "leaders": [kinds…] }`.
 *
 *   ip netns exec <ns> node --import tsx specs/harness/partition-probe.ts <natsUrl> <caFile> <token> <cluster> <ms>
 */
import { connectNats, pingActors } from "../../runtime/host.ts";
import { credentialsOf } from "../../runtime/cluster/credentials.ts";
import { StoreClient } from "../../bus/store-client.ts";

const [natsUrl, caFile, token, cluster, ms] = process.argv.slice(2) as [string, string, string, string, string];
const nc = await connectNats(natsUrl, "partition-probe", credentialsOf(token, { role: "admin" }, caFile), { ignoreClusterUpdates: true });
const store = new StoreClient(nc, cluster, 1500);
const acked: string[] = [];
const deadline = Date.now() + Number(ms);
for (let i = 0; Date.now() < deadline; i++) {
  const name = `minority-${i}`;
  try {
    await store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { i: String(i) } });
    acked.push(name);
  } catch {
    await new Promise((r) => setTimeout(r, 200));
  }
}
const leaders = (await pingActors(nc, cluster, 800)).filter((p) => p.leader === true).map((p) => p.kind);
process.stdout.write(JSON.stringify({ acked, leaders }) + "\n");
await nc.close();
