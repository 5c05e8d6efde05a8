import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { startNatsServer, freePorts } from "./runtime/nats-server.ts";
import { generateCa } from "./actors/api-server/certs.ts";
import { ensureRouteCert } from "./runtime/cluster/route-cert.ts";
import { connectNats } from "./runtime/host.ts";
import { Kvm } from "@nats-io/kv";
const dir = mkdtempSync(join(tmpdir(), "leafx3-"));
mkdirSync(join(dir, "pki"), { recursive: true });
const ca = generateCa(); writeFileSync(join(dir, "pki/ca.crt"), ca.certPem); writeFileSync(join(dir, "pki/ca.key"), ca.keyPem);
const tls = ensureRouteCert(dir, "127.0.0.1");
const [p, lp] = await freePorts("127.0.0.1", 2);
const perms = process.argv[2] === "perms" ? JSON.parse(process.argv[3]!) : undefined;
const hub = await startNatsServer({ port: p, dataDir: join(dir, "hub"), users: [{ user: "admin", password: "a" }, { user: "lw", password: "l", ...(perms ? { permissions: perms } : {}) }], passwords: { sys: "s" }, tls, leafListen: `127.0.0.1:${lp}`, serverName: "hub", jetstreamDomain: "flotilla" });
const adm = await connectNats(hub.url, "adm", { user: "admin", password: "a", caFile: tls.caFile });
const kv = await new Kvm(adm).create("flotilla-lx");
await kv.put("a", "1");
adm.subscribe("flotilla.lx.store.node.lw.*", { queue: "q", callback: (_e, m) => m.respond("pong") });
const leaf = await startNatsServer({ dataDir: join(dir, "leaf"), serverName: "leaf", leafRemotes: [`nats-leaf://lw:l@127.0.0.1:${lp}`], leafRemoteCaFile: tls.caFile, jetstreamDomain: "flotilla", users: [{ user: "lw", password: "l" }], quiet: !process.env.FLOTILLA_NATS_LOG });
const nc = await connectNats(leaf.url, "leafclient", { user: "lw", password: "l" });
await new Promise((r) => setTimeout(r, 1500));
for (const subj of ["flotilla.lx.store.node.lw.get", "$JS.API.INFO", "$JS.flotilla.API.INFO", "$JS.API.STREAM.INFO.KV_flotilla-lx"]) {
  try { const m = await nc.request(subj, "", { timeout: 2000 }); console.log(subj, "->", m.string().slice(0, 100)); } catch (e) { console.log(subj, "err", (e as Error).message); }
}
try {
  const lkv = await new Kvm(nc).open("flotilla-lx");
  const w = await lkv.watch();
  let got = 0;
  const t = setTimeout(() => w.stop(), 3000);
  setTimeout(() => void kv.put("b", "2"), 500);
  for await (const e of w) { console.log("watch", e.key, e.string()); if (++got === 2) { clearTimeout(t); w.stop(); } }
} catch (e) { console.log("watch err", (e as Error).message); }
try { const lkv = await new Kvm(nc, { domain: "flotilla" } as any).open("flotilla-lx"); const w = await lkv.watch(); const t = setTimeout(() => w.stop(), 2000); for await (const e of w) { console.log("watch(domain)", e.key); clearTimeout(t); w.stop(); } } catch (e) { console.log("watch(domain) err", (e as Error).message); }
await nc.close(); await adm.close(); await leaf.stop(); await hub.stop();
