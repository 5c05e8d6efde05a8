/**
 * Run inside a server's network namespace by the partition spec: for `ms` milliseconds, tries to
 * create ConfigMaps through that server, then asks which actors there lead, again every 500 ms
 * while any does, for up to `leadersMs` more. Prints one JSON line:
 * `{ "acked": [names…], "leaders": [kinds… still leading at the end], "ledUntilMs": ms after the start }`.
 *
 *   ip netns exec <ns> node --import tsx specs/harness/partition-probe.ts <natsUrl> <caFile> <token> <cluster> <ms> [leadersMs]
 */
import { connectNats, pingActors } from "../../runtime/host.ts";
import { credentialsOf } from "../../runtime/cluster/credentials.ts";
import { StoreClient } from "../../bus/store-client.ts";

const [natsUrl, caFile, token, cluster, ms, leadersMs = "0"] = process.argv.slice(2) as [string, string, string, string, string, string?];
const started = Date.now();
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
const leading = async () => (await pingActors(nc, cluster, 800)).filter((p) => p.leader === true).map((p) => p.kind);
let leaders = await leading();
let ledUntilMs = leaders.length > 0 ? Date.now() - started : 0;
for (const until = Date.now() + Number(leadersMs); leaders.length > 0 && Date.now() < until; ) {
  await new Promise((r) => setTimeout(r, 500));
  leaders = await leading();
  if (leaders.length > 0) ledUntilMs = Date.now() - started;
}
process.stdout.write(JSON.stringify({ acked, leaders, ledUntilMs }) + "\n");
await nc.close();
