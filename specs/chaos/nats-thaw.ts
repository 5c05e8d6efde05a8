/**
 * `npm run chaos:thaw -- [--cycles N] [--freeze S] [--out FILE]`: what a freeze-server fault does
 * to NATS alone. Three nats-server processes (the installed one) on loopback, clustered as
 * Flotilla's servers are, one R3 KV bucket whose stream leader is not the server frozen, a writer
 * on the leader's server, and 30 watchers on the server frozen. The follower is SIGSTOPped for
 * `--freeze` seconds (default 20) and SIGCONTed, `--cycles` times (default 3). Every 250 ms a put
 * goes through each of the two other servers; the report gives, per cycle and server, how many
 * puts failed while the follower was frozen, and for how long puts failed after it was thawed.
 * No Flotilla code runs: only nats-server and the NATS client.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { resolve, join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startNatsServer, freePort, findNatsServer } from "../../runtime/nats-server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROBE_MS = 250;

export interface ThawCycle {
  /** Which server led the stream when the follower was frozen. */
  leader: string;
  /** Per server probed: puts that failed during the freeze, and seconds from the thaw until the last failed put (0: none failed). */
  through: Record<string, { failedWhileFrozen: number; failingAfterThawS: number; error?: string }>;
}

export async function thaw(o: { cycles: number; freezeS: number }): Promise<{ version: string; cycles: ThawCycle[] }> {
  const hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
  const names = ["s0", "s1", "s2"];
  const routes = await Promise.all(hosts.map(async (h) => `${h}:${await freePort(h)}`));
  const dir = mkdtempSync(join(tmpdir(), "flotilla-thaw-"));
  const servers = await Promise.all(hosts.map((h, i) => startNatsServer({ host: h, serverName: names[i], dataDir: join(dir, names[i]!), cluster: { name: "thaw", listen: routes[i]!, routes, routePassword: "route" }, passwords: { sys: "sys", user: "u" }, quiet: true })));
  const conns: NatsConnection[] = [];
  const conn = async (i: number) => {
    const nc = await connect({ servers: servers[i]!.url, user: "flotilla", pass: "u", maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    conns.push(nc);
    return nc;
  };
  let stop = false;
  try {
    const first = await conn(0);
    let kv: KV | undefined;
    for (let i = 0; i < 60 && !kv; i++) kv = await new Kvm(first).create("thaw", { replicas: 3, history: 16 }).catch(async () => (await sleep(500), undefined));
    if (!kv) throw new Error("the R3 bucket was not created within 30 s");
    const jsm = await jetstreamManager(first);
    const frozen = 1;
    // 30 watchers on the server to be frozen: every write fans out to it, as to a server's informers.
    const kvOn = await Promise.all([first, await conn(1), await conn(2)].map((nc) => new Kvm(nc).open("thaw")));
    for (let i = 0; i < 30; i++) {
      const w = await kvOn[frozen]!.watch();
      void (async () => {
        for await (const _ of w);
      })().catch(() => undefined);
    }
    const val = new Uint8Array(2048);
    const cycles: ThawCycle[] = [];
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      // The leader on a server that is not frozen: what is measured is the thaw, not an election.
      let leader = "";
      for (let i = 0; i < 30; i++) {
        leader = (await jsm.streams.info("KV_thaw").catch(() => undefined))?.cluster?.leader ?? "";
        if (leader && leader !== names[frozen]) break;
        await first.request("$JS.API.STREAM.LEADER.STEPDOWN.KV_thaw", "", { timeout: 2000 }).catch(() => undefined);
        await sleep(1000);
      }
      const writerAt = names.indexOf(leader);
      let n = 0;
      stop = false;
      const writer = (async () => {
        while (!stop) {
          await kvOn[writerAt]!.put(`k${n++ % 50}`, val).catch(() => undefined);
          await sleep(5);
        }
      })();
      await sleep(2000);
      const probed = [0, 2];
      const through: ThawCycle["through"] = Object.fromEntries(probed.map((i) => [names[i]!, { failedWhileFrozen: 0, failingAfterThawS: 0 }]));
      process.kill(servers[frozen]!.pid, "SIGSTOP");
      const frozenUntil = Date.now() + o.freezeS * 1000;
      let thawedAt = 0;
      const end = frozenUntil + 40_000;
      while (Date.now() < end) {
        if (!thawedAt && Date.now() >= frozenUntil) {
          process.kill(servers[frozen]!.pid, "SIGCONT");
          thawedAt = Date.now();
        }
        await Promise.all(
          probed.map(async (i) => {
            const t = through[names[i]!]!;
            const err = await kvOn[i]!.put("probe", "x", { timeout: PROBE_MS * 4 } as never).then(
              () => undefined,
              (e: Error) => e.message,
            );
            if (!err) return;
            if (!thawedAt) t.failedWhileFrozen++;
            else {
              t.failingAfterThawS = (Date.now() - thawedAt) / 1000;
              t.error ??= err;
            }
          }),
        );
        await sleep(PROBE_MS);
      }
      stop = true;
      await writer;
      cycles.push({ leader, through });
      say(`cycle ${cycle + 1}: ${describe(cycles.at(-1)!, names[frozen]!)}`);
    }
    const version = spawnSync(findNatsServer()!, ["--version"], { encoding: "utf8" }).stdout.trim();
    return { version, cycles };
  } finally {
    stop = true;
    for (const s of servers) process.kill(s.pid, "SIGCONT");
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(c: ThawCycle, frozen: string): string {
  const parts = Object.entries(c.through).map(
    ([s, t]) => `through ${s}${s === c.leader ? " (leader)" : ""}: ${t.failedWhileFrozen} failed while ${frozen} was frozen, ${t.failingAfterThawS ? `the last failed ${t.failingAfterThawS.toFixed(1)} s after the thaw (${t.error})` : "none failed after the thaw"}`,
  );
  return parts.join("; ");
}

function say(s: string): void {
  process.stdout.write(s + "\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const cycles = Number(opt("--cycles") ?? 3);
  const freezeS = Number(opt("--freeze") ?? 20);
  const out = opt("--out");
  if (!(cycles >= 1 && freezeS > 0)) throw new Error("usage: --cycles N (≥ 1) --freeze SECONDS (> 0) [--out FILE]");
  say(`chaos:thaw: three nats-servers, the follower s1 frozen ${freezeS} s and thawed, ${cycles} time(s); a put every ${PROBE_MS} ms through s0 and s2`);
  const r = await thaw({ cycles, freezeS });
  say(r.version);
  if (out) writeFileSync(out, JSON.stringify(r, null, 2) + "\n");
  process.exit(0);
}
