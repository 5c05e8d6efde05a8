import { connectNats } from "./runtime/host.ts";
import { userUrl } from "./cli/server-run.ts";
import { readFileSync } from "node:fs";
const d = process.argv[2]!;
const token = readFileSync(`${d}/token`, "utf8").trim();
for (const s of ["a", "b", "c"]) {
  const j = JSON.parse(readFileSync(`${d}/servers/server-${s}/server.json`, "utf8"));
  const nc = await connectNats(userUrl(`nats://${j.address}:${j.ports.nats}`, token), "probe", undefined, { tls: { caFile: `${d}/pki/ca.crt` }, maxReconnectAttempts: 0 }).catch((e) => { console.log(s, "connect", String(e).slice(0, 100)); return undefined; });
  if (!nc) continue;
  const r: string[] = [];
  for (const subj of ["$JS.API.INFO", "$JS.API.STREAM.INFO.KV_flotilla-default", "$JS.API.STREAM.INFO.KV_flotilla-default-events", "$JS.API.STREAM.INFO.KV_flotilla-default-leases", "$JS.API.STREAM.INFO.KV_flotilla-default-servers", "$JS.API.STREAM.NAMES"]) {
    const t = Date.now();
    try { const m = await nc.request(subj, "", { timeout: 2000 }); const j = m.json<any>(); r.push(`${subj.split(".").pop()}:ok${Date.now() - t}${j.cluster ? "(L=" + j.cluster.leader + ")" : ""}`); } catch { r.push(`${subj.split(".").pop()}:TIMEOUT`); }
  }
  console.log(s, r.join(" "));
  if (process.argv[3] === "stepdown" && s === "a") { const m = await nc.request("$JS.API.STREAM.LEADER.STEPDOWN.KV_flotilla-default", "", { timeout: 5000 }).catch((e) => String(e)); console.log("stepdown", typeof m === "string" ? m : m.string()); }
  await nc.close();
}
