/**
 * `npm run chaos:nats -- [--writes racing|separate|through-writer|creating|creating-checked] [--kills N] [--restart same|fresh] [--upscale] [--out FILE]`: the NATS-only
 * reproduction of the copies that chaos runs found shifted. Three nats-server processes (the
 * installed one) on loopback, one R3 KV bucket (history 16, no direct gets, as Flotilla's main
 * bucket), eight writers doing read-then-compare-and-swap updates, and SIGKILL + restart of a
 * stream replica N times. Afterwards, with writes stopped, every server's own copy of the stream
 * (messages, first and last sequence, from each server's /jsz) is compared.
 *
 * `racing` writers share 10 keys, so many compare-and-swap writes fail inside JetStream
 * ("wrong last sequence"); `separate` writers each have keys of their own, so almost none fail.
 * No Flotilla code runs in these two: only nats-server and the NATS client.
 *
 * `through-writer` races on 10 keys as `racing` does, but every write goes through the store's
 * `KvWriter` (actors/store/kv-writer.ts), one per server on a connection to that server alone, as
 * the store replicas of three Flotilla servers are: the one beside the stream leader writes, the
 * others forward to it, and a stale compare-and-swap is refused before JetStream sees it.
 *
 * `creating` writers create 10 keys over and over, straight to JetStream: once a key exists each
 * create is refused (JetStream checks an expected sequence of 0 only as it applies the write).
 * Between two creates each writer updates a key of its own, so writes are accepted too.
 * `creating-checked` does the same through three `KvWriter`s without the single writer, which
 * check a create at the stream leader before publishing it, as every store replica does.
 *
 * `--restart fresh` brings each killed server back as a Flotilla server does when the others lead
 * every bucket (runtime/cluster/nats-identity.ts): under a new name with an empty store, its old
 * name removed from the meta group. `--upscale` creates the bucket with one replica and moves it to
 * three, as Flotilla's buckets are. `REPLAY_DOMAIN=<d>` gives the servers a JetStream domain.
 */
import type { ChildProcess } from "node:child_process";
import type { KV } from "@nats-io/kv";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { findNatsServer, freePort } from "../../runtime/nats-server.ts";
import { copiesAgree } from "./checker.ts";
import { startKvWriter } from "../../actors/store/kv-writer.ts";
import { createLogger } from "../../runtime/logger.ts";

interface Copy {
  server: string;
  messages: number;
  firstSeq: number;
  lastSeq: number;
  leader: boolean;
}

export type ReplayWrites = "racing" | "separate" | "through-writer" | "creating" | "creating-checked";
const WRITES: readonly ReplayWrites[] = ["racing", "separate", "through-writer", "creating", "creating-checked"];

export interface ReplayReport {
  natsServer: string;
  writes: ReplayWrites;
  kills: { at: number; server: string; wasLeader: boolean }[];
  acked: number;
  casFailed: number;
  otherErrors: number;
  copies: Copy[];
  agree: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NAMES = ["a", "b", "c"] as const;

export type ReplayRestart = "same" | "fresh";

export async function replay(o: { writes: ReplayWrites; kills: number; restart?: ReplayRestart; upscale?: boolean }): Promise<ReplayReport> {
  const bin = findNatsServer();
  if (!bin) throw new Error("nats-server is not installed");
  const dir = mkdtempSync(join(tmpdir(), "flotilla-nats-replay-"));
  const ports = await Promise.all(NAMES.map(async () => ({ client: await freePort("127.0.0.1"), route: await freePort("127.0.0.1"), http: await freePort("127.0.0.1") })));
  const procs: (ChildProcess | undefined)[] = [];
  /** Each slot's current server name: `fresh` restarts give a killed server a new name and an empty store. */
  const names: string[] = [...NAMES];
  const start = (i: number) => {
    const p = ports[i]!;
    const conf = join(dir, `${names[i]}.conf`);
    writeFileSync(
      conf,
      `server_name: ${names[i]}\nlisten: "127.0.0.1:${p.client}"\nhttp: "127.0.0.1:${p.http}"\njetstream { store_dir: "${join(dir, names[i]!)}"${process.env.REPLAY_DOMAIN ? ", domain: " + process.env.REPLAY_DOMAIN : ""} }\n` +
        `accounts { SYS { users: [{ user: sys, password: sys }] }, APP { jetstream: enabled, users: [{ user: app, password: app }] } }\nsystem_account: SYS\n` +
        `cluster { name: replay, listen: "127.0.0.1:${p.route}", routes: [${ports.map((x) => `"nats-route://127.0.0.1:${x.route}"`).join(", ")}] }\n`,
    );
    procs[i] = spawn(bin, ["-c", conf], { stdio: "ignore" });
  };
  const copies = async (): Promise<Copy[]> => {
    const out: Copy[] = [];
    for (let i = 0; i < NAMES.length; i++) {
      const r = (await (await fetch(`http://127.0.0.1:${ports[i]!.http}/jsz?accounts=true&streams=true`)).json().catch(() => ({}))) as {
        account_details?: { stream_detail?: { name: string; state: { messages: number; first_seq: number; last_seq: number }; cluster?: { leader?: string } }[] }[];
      };
      for (const a of r.account_details ?? []) {
        for (const s of a.stream_detail ?? []) {
          if (s.name === "KV_replay") out.push({ server: names[i]!, messages: s.state.messages, firstSeq: s.state.first_seq, lastSeq: s.state.last_seq, leader: s.cluster?.leader === names[i] });
        }
      }
    }
    return out;
  };
  for (let i = 0; i < NAMES.length; i++) start(i);
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  for (let i = 0; i < 50 && !nc; i++) nc = await connect({ servers: ports.map((p) => `127.0.0.1:${p.client}`), user: "app", pass: "app", maxReconnectAttempts: -1, reconnectTimeWait: 200 }).catch(async () => (await sleep(200), undefined));
  if (!nc) {
    for (const p of procs) p?.kill("SIGKILL");
    throw new Error("no nats-server accepted a connection within 10 s");
  }
  const sys = await connect({ servers: ports.map((p) => `127.0.0.1:${p.client}`), user: "sys", pass: "sys", maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  /** The killed server comes back under a new name with an empty store; its old name leaves the meta group. */
  const restartFresh = async (i: number) => {
    const old = names[i]!;
    names[i] = `${NAMES[i]}${Date.now() % 100000}`;
    start(i);
    const enc = new TextEncoder();
    for (let t = 0; t < 100; t++) {
      await sleep(200);
      const jsz = (await (await fetch(`http://127.0.0.1:${ports[i]!.http}/jsz`)).json().catch(() => ({}))) as { meta_cluster?: { leader?: string; replicas?: { name: string; current?: boolean }[] } };
      const meta = jsz.meta_cluster;
      if (!meta?.leader || meta.leader === names[i]) continue;
      const m = await sys.request("$JS.API.SERVER.REMOVE", enc.encode(JSON.stringify({ peer: old })), { timeout: 2000 }).catch(() => undefined);
      const r = m ? (JSON.parse(new TextDecoder().decode(m.data)) as { success?: boolean; error?: { description?: string } }) : undefined;
      if (r?.success) {
        process.stderr.write(`${old} restarted as ${names[i]}; ${old} left the meta group ${((t + 1) * 200) / 1000} s after the restart\n`);
        return;
      }
    }
    throw new Error(`${old} was not removed from the meta group`);
  };
  try {
    let kv: KV | undefined;
    for (let i = 0; i < 60 && !kv; i++) kv = await new Kvm(nc).create("replay", { replicas: o.upscale ? 1 : 3, history: 16 }).catch(async () => (await sleep(500), undefined));
    if (!kv) throw new Error("the three servers formed no JetStream cluster within 30 s");
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info("KV_replay");
    await jsm.streams.update("KV_replay", { ...info.config, allow_direct: false, num_replicas: 3 });
    if (o.upscale) for (let i = 0; i < 50 && (await jsm.streams.info("KV_replay")).cluster?.replicas?.length !== 2; i++) await sleep(200);
    const bucket = kv;
    // One store writer per server, each on a connection to its own server only.
    const throughStore = o.writes === "through-writer" || o.writes === "creating-checked";
    const storeConns = throughStore ? await Promise.all(ports.map((p) => connect({ servers: `127.0.0.1:${p.client}`, user: "app", pass: "app", maxReconnectAttempts: -1, reconnectTimeWait: 200 }))) : [];
    const kvWriters = await Promise.all(
      storeConns.map(async (c) => {
        const own = await new Kvm(c).open("replay");
        return startKvWriter({ nc: c, cluster: "replay", buckets: { main: own, events: own, leases: own, names: { main: "replay", events: "replay-events-unused", leases: "replay-leases-unused" } }, log: createLogger("replay-writer"), forward: o.writes === "through-writer" });
      }),
    );
    const enc = new TextEncoder();
    // The shared keys exist before the creating writers start: every create of theirs is of a key
    // that exists (two first creates of one key racing is the single writer's case, not this one).
    if (o.writes === "creating" || o.writes === "creating-checked") for (let k = 0; k < 10; k++) await bucket.create(`k${k}`, "first");
    let stop = false;
    let acked = 0;
    let casFailed = 0;
    let otherErrors = 0;
    const writer = async (w: number) => {
      while (!stop) {
        const key = o.writes === "separate" ? `k${w}-${Math.floor(Math.random() * 10)}` : `k${Math.floor(Math.random() * 10)}`;
        try {
          if (o.writes === "creating" || o.writes === "creating-checked") {
            // A writer's own key takes its updates (accepted); the shared keys take the creates.
            const own = `own${w}`;
            const mine = await bucket.get(own);
            if (o.writes === "creating") await bucket.put(own, `v${acked}`);
            else await kvWriters[w % kvWriters.length]!.write({ bucket: "main", key: own, data: enc.encode(`v${acked}`), expected: mine?.revision ?? 0 });
            acked++;
            if (o.writes === "creating") await bucket.create(key, `v${acked}`);
            else await kvWriters[w % kvWriters.length]!.write({ bucket: "main", key, data: enc.encode(`v${acked}`), expected: 0 });
            acked++;
            continue;
          }
          const e = await bucket.get(key);
          if (o.writes === "through-writer") await kvWriters[w % kvWriters.length]!.write({ bucket: "main", key, data: enc.encode(`v${acked}`), expected: e?.revision ?? 0 });
          else if (!e || e.operation !== "PUT") await bucket.create(key, `v${acked}`);
          else await bucket.update(key, `v${acked}`, e.revision);
          acked++;
        } catch (e) {
          if (/wrong last sequence|exists/.test((e as Error).message)) casFailed++;
          else otherErrors++;
          await sleep(20);
        }
      }
    };
    const t0 = Date.now();
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    const kills: ReplayReport["kills"] = [];
    await sleep(4000);
    for (let k = 0; k < o.kills; k++) {
      const leader = (await jsm.streams.info("KV_replay").catch(() => undefined))?.cluster?.leader;
      // Alternate: the leader first, then a follower.
      const last = kills.at(-1)?.server;
      const victim = k % 2 === 0 && leader ? names.indexOf(leader) : names.findIndex((n) => n !== leader && n !== last);
      kills.push({ at: (Date.now() - t0) / 1000, server: names[victim]!, wasLeader: names[victim] === leader });
      procs[victim]!.kill("SIGKILL");
      await sleep(2000);
      if (o.restart === "fresh") await restartFresh(victim);
      else start(victim);
      await sleep(6000);
    }
    await sleep(2000);
    stop = true;
    await Promise.all(writers);
    await Promise.all(kvWriters.map((x) => x.stop()));
    await Promise.all(storeConns.map((c) => c.close().catch(() => undefined)));
    // Writes have stopped: give the followers time to catch up, then compare.
    let now: Copy[] = [];
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      now = await copies();
      if (copiesAgree(now, NAMES.length)) break;
    }
    return { natsServer: bin, writes: o.writes, kills, acked, casFailed, otherErrors, copies: now, agree: copiesAgree(now, NAMES.length) };
  } finally {
    await nc!.close().catch(() => undefined);
    await sys.close().catch(() => undefined);
    for (const p of procs) p?.kill("SIGKILL");
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatReplay(r: ReplayReport): string {
  return [
    `nats-server replay: ${r.writes} writers, ${r.kills.length} SIGKILL + restart (${r.kills.map((k) => `${k.server}${k.wasLeader ? " (leader)" : ""} at ${k.at.toFixed(0)} s`).join(", ") || "none"})`,
    `writes: ${r.acked} acknowledged, ${r.casFailed} refused by compare-and-swap, ${r.otherErrors} other errors`,
    `copies once writes stopped: ${r.copies.map((c) => `${c.server}${c.leader ? " (leader)" : ""} ${c.messages} messages ${c.firstSeq}..${c.lastSeq}`).join("; ")}`,
    r.agree ? "the copies agree" : "THE COPIES DIFFER",
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const val = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const writes = (val("--writes") ?? "racing") as ReplayWrites;
  if (!WRITES.includes(writes)) throw new Error(`--writes is one of ${WRITES.join(", ")}`);
  const kills = Number(val("--kills") ?? 2);
  const restart = (val("--restart") ?? "same") as ReplayRestart;
  replay({ writes, kills, restart, upscale: args.includes("--upscale") })
    .then((r) => {
      const text = formatReplay(r);
      process.stdout.write(text + "\n");
      const out = val("--out");
      if (out) writeFileSync(out, JSON.stringify(r, null, 2) + "\n");
      process.exit(0);
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(2);
    });
}
