// Experiment: after a SIGKILL of the stream leader's server, is its copy ahead, and does a stream peer-remove repair it?
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChaosCluster } from "./specs/chaos/cluster.ts";
import { Writers } from "./specs/chaos/workload.ts";
import { rng } from "./specs/chaos/rng.ts";
process.env.FLOTILLA_SINGLE_WRITER ??= "1";
process.env.FLOTILLA_LOG ??= "warn";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), "flotilla-exp-"));
const cc = await ChaosCluster.start(dir, { workers: 0, leaseDurationMs: 3000 });
const w = new Writers(cc, rng(5), { workers: 4, paceMs: 60, maxKeys: 80 });
const copies = async () => (await cc.bucketCopies()).map((x) => `${x.server} ${x.lastSeq}`).join(" | ");
try {
  await sleep(8000);
  w.start();
  await sleep(4000);
  const leader = (await cc.streamLeader())!;
  console.log("kill", leader, await copies());
  cc.killServer(leader);
  await sleep(3000);
  await cc.restartServer(leader);
  for (let i = 0; i < 6; i++) { await sleep(3000); console.log("after restart", await cc.streamLeader(), await copies()); }
  const mode = process.argv[2];
  if (mode === "peer-remove") {
    const r = await cc.c.servers[0] && (await (async () => {
      const { adminConnections } = await import("./specs/harness/servers.ts");
      const a = await adminConnections(cc.c);
      const m = await a.nc.request("$JS.API.STREAM.PEER.REMOVE.KV_flotilla-default", JSON.stringify({ peer: leader }), { timeout: 10000 }).catch((e) => String(e));
      await a.close();
      return typeof m === "string" ? m : m.string();
    })());
    console.log("peer remove", r);
    for (let i = 0; i < 10; i++) { await sleep(3000); console.log("after remove", await cc.streamLeader(), JSON.stringify((await cc.placements()).find((p) => p.stream === "KV_flotilla-default")), await copies()); }
  }
  await w.stop();
  await sleep(5000);
  console.log("quiet", await copies(), "acked", w.acked);
} finally { await cc.stop(); }
