/**
 * `npm run chaos [-- --quick] [--seed N] [--out DIR] [--rebuild]`: a bounded chaos run against three servers and
 * three workers. Faults go in turn, then (full run) at random from the seed, while writes, a watch
 * and Deployment churn go on; then the history is checked. Prints a report and writes it as text
 * and JSON; exits 1 when there is any violation.
 */
import type { Fault, FaultKind } from "./faults.ts";
import type { Violation } from "./history.ts";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ChaosCluster, canPartition, healPartitions } from "./cluster.ts";
import { rng, type Rng } from "./rng.ts";
import { schedule, describeFault, NOT_RUN, FAULT_KINDS } from "./faults.ts";
import { Writers, Watcher, Deployments, ServiceProbe, describeService, NS } from "./workload.ts";
import { checkHistory, copiesAgree } from "./checker.ts";
import { REBUILD_ENV } from "../../runtime/cluster/nats-identity.ts";

export interface ChaosOptions {
  quick: boolean;
  seed: number;
  out?: string;
  /** Keep the cluster's data dirs (logs) when there are violations. */
  keep?: boolean;
  /** Only these fault kinds (to reproduce one finding); every kind when absent. */
  only?: FaultKind[];
  /** The servers rebuild their copies at each restart (FLOTILLA_REBUILD_COPIES=1, off by default). */
  rebuild?: boolean;
  say?: (line: string) => void;
}

export interface FaultResult {
  fault: string;
  target: string;
  /** Seconds from the start of the churn. */
  at: number;
  /** Seconds from the fault until a write was acknowledged again, the Service answered, every actor led. */
  writesS?: number;
  serviceS?: number;
  leadersS?: number;
  /** The leader-elected actors without a leader when `leadersS` ran out. */
  leaderless?: string[];
}

export interface ChaosReport {
  seed: number;
  mode: "quick" | "full";
  startedAt: string;
  seconds: number;
  faults: FaultResult[];
  notRun: Record<string, string>;
  writes: { total: number; acked: number; refused: number; ambiguous: number };
  watch: { events: number; streams: number; relists: number };
  deploymentChanges: number;
  violations: Violation[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SERVICE_BOUND_S = 15;
/** A quick run waits this long for the Service after a fault (a full run 60 s, to tell how late it was). */
const QUICK_SERVICE_WAIT_MS = 20_000;


async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 250): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await Promise.resolve(fn()).catch(() => false)) return (Date.now() - t0) / 1000;
    await sleep(intervalMs);
  }
  void what;
  return undefined;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  // The servers run with one writer per replicated bucket (docs/store.md), as by default;
  // FLOTILLA_SINGLE_WRITER=0 npm run chaos measures without it.
  if (o.rebuild) process.env[REBUILD_ENV] = "1";
  const say = o.say ?? ((l: string) => process.stdout.write(l + "\n"));
  const r = rng(o.seed);
  // Targets from a stream of their own: the churn draws from \`r\` concurrently, so sharing it would
  // make the same seed hit different servers.
  const targets = rng(o.seed ^ 0x5eed);
  const dir = mkdtempSync(join(tmpdir(), "flotilla-chaos-"));
  const violations: Violation[] = [];
  const faults: FaultResult[] = [];
  const startedAt = new Date();
  process.env.FLOTILLA_LOG ??= "warn";
  say(`chaos: seed ${o.seed}, ${o.quick ? "quick" : "full"} run, cluster in ${dir}`);
  const noPartition = canPartition();
  let cc: ChaosCluster | undefined;
  // Interrupted: nothing of the run is left behind (rules, servers, workers and their pods).
  const healOnSignal = () => {
    healPartitions();
    cc?.killNow();
    process.exit(130);
  };
  process.once("SIGINT", healOnSignal);
  process.once("SIGTERM", healOnSignal);
  cc = await ChaosCluster.start(dir, { workers: 3, leaseDurationMs: 3000 });
  const writers = new Writers(cc, r, { workers: 4, paceMs: o.quick ? 120 : 150, maxKeys: 80 });
  const watcher = new Watcher(cc);
  const deps = new Deployments(cc, r, o.quick ? 3000 : 4000);
  const service = new ServiceProbe();
  const any = () => cc.api(cc.serverNames.find((s) => cc.serverAlive(s)) ?? cc.serverNames[0]!);
  /** The first live server's api-server that answers, tried in turn for up to 60 s. */
  const firstAnswer = async <T,>(call: (api: ReturnType<typeof any>) => Promise<T>): Promise<T> => {
    const until = Date.now() + 60_000;
    for (;;) {
      for (const s of cc.serverNames.filter((x) => cc.serverAlive(x))) {
        try {
          return await call(cc.api(s));
        } catch (e) {
          if (Date.now() > until) throw e;
        }
      }
      await sleep(500);
    }
  };
  let t0 = Date.now();
  try {
    const ready = await until("3 workers Ready", async () => {
      const n = await any().call("GET", "/api/v1/nodes");
      const items = (n.body.items as { status?: { conditions?: { type: string; status: string }[] } }[]) ?? [];
      return items.filter((x) => x.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length >= 3;
    }, 60_000);
    if (ready === undefined) throw new Error("the three workers did not become Ready within 60 s");
    await deps.create();
    if ((await until("the example Service answers", () => service.answers(any()), 90_000)) === undefined) throw new Error("the example Service did not answer within 90 s");
    say("chaos: cluster ready; churn starts");
    t0 = Date.now();
    watcher.start();
    writers.start();
    deps.start();
    await sleep(3000);

    for (const f of schedule(r, { quick: o.quick, random: 8 }).filter((x) => !(noPartition && x.kind === "partition-server") && (!o.only || o.only.includes(x.kind)))) {
      await sleep(o.quick ? 2000 : 5000);
      const res = await inject(cc, f, writers, service, t0, targets, o.quick ? QUICK_SERVICE_WAIT_MS : 60_000);
      faults.push(res);
      say(`chaos: ${res.fault} on ${res.target} at ${res.at.toFixed(1)} s: writes after ${fmt(res.writesS)}, Service after ${fmt(res.serviceS)}, leaders after ${fmt(res.leadersS)}`);
      if (res.serviceS === undefined || res.serviceS > SERVICE_BOUND_S || res.writesS === undefined || res.writesS > SERVICE_BOUND_S) say(`chaos: JetStream API through each server: ${Object.entries(await cc.jsApiThroughEach()).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      if (res.serviceS === undefined || res.serviceS > SERVICE_BOUND_S) {
        violations.push({ check: "service-recovery", message: `${res.fault}: the example Service did not answer within ${SERVICE_BOUND_S} s` });
        say(`chaos: the Service's probe last met: ${service.lastMiss ?? "nothing"}; now: ${await describeService(probeApi(cc, res.target))}`);
      }
      if (res.leadersS === undefined) violations.push({ check: "leaders", message: `${res.fault}: not every actor led again within 60 s (without a leader: ${res.leaderless?.join(", ") || "?"})` });
      if (res.writesS === undefined) violations.push({ check: "writes-resume", message: `${res.fault}: no write was acknowledged within 60 s` });
      await healed(cc);
      say(`chaos: the bucket's copies after it: ${copiesText(await cc.bucketCopies())}`);
    }

    say("chaos: faults done; settling");
    await writers.stop();
    await deps.stop();
    violations.push(...(await settledDeployments(cc)));
    // Any api-server that answers (one may be restarting its actors after a rebuild).
    const list = await firstAnswer((api) => api.call("GET", `/api/v1/namespaces/${NS}/configmaps`));
    const listed = (list.body.items as { metadata: { name: string; resourceVersion: string }; data?: { m?: string } }[]).map((x) => ({ key: `${NS}/${x.metadata.name}`, rv: x.metadata.resourceVersion, marker: x.data?.m }));
    // The list's own resourceVersion is the whole store's; the watch has caught up when it saw every
    // listed object at its revision (or later) and a DELETED for every key the list no longer holds.
    if ((await until("the watch reaches the final list", () => watcher.caughtUp(listed), 20_000)) === undefined) {
      violations.push({ check: "watch-behind", message: `20 s after the churn stopped, the watch had not seen the final state of every object (it is at revision ${watcher.revision})` });
    }
    await watcher.stop();
    violations.push(...(await serversAgree(cc)));
    violations.push(...(await bucketCopiesAgree(cc, say)));
    const final = listed;
    const history = { writes: writers.writes, reads: writers.reads, events: watcher.events, streams: watcher.streams, final };
    violations.push(...checkHistory(history));
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, "chaos-history.json"), JSON.stringify(history) + "\n");
    }
  } finally {
    await writers.stop().catch(() => undefined);
    await deps.stop().catch(() => undefined);
    await watcher.stop().catch(() => undefined);
    await cc.stop();
    process.off("SIGINT", healOnSignal);
    process.off("SIGTERM", healOnSignal);
  }
  const count = (k: string) => writers.writes.filter((w) => w.outcome === k).length;
  const report: ChaosReport = {
    seed: o.seed,
    mode: o.quick ? "quick" : "full",
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - t0) / 1000),
    faults,
    notRun: { ...NOT_RUN, ...(noPartition ? { partition: noPartition } : {}) },
    writes: { total: writers.writes.length, acked: count("acked"), refused: count("refused"), ambiguous: count("ambiguous") },
    watch: { events: watcher.events.length, streams: watcher.streams.length, relists: watcher.streams.filter((s) => s.end === "expired").length },
    deploymentChanges: deps.changes.length,
    violations,
  };
  const text = formatReport(report);
  say(text);
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, "chaos-report.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(o.out, "chaos-report.txt"), text + "\n");
  }
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
  else say(`chaos: the cluster's data dirs and logs are kept in ${dir}`);
  return report;
}

const fmt = (s: number | undefined) => (s === undefined ? "never" : `${s.toFixed(1)} s`);

async function inject(cc: ChaosCluster, f: Fault, writers: Writers, service: ServiceProbe, t0: number, targets: Rng, serviceWaitMs: number): Promise<FaultResult> {
  const live = cc.serverNames.filter((s) => cc.serverAlive(s));
  let target = "";
  let restart: (() => Promise<void>) | undefined;
  let during: Promise<void> | undefined;
  const at = Date.now();
  switch (f.kind) {
    case "kill-stream-leader":
    case "kill-controller-leader":
    case "kill-client-api": {
      target =
        f.kind === "kill-stream-leader"
          ? ((await cc.streamLeader()) ?? live[0]!)
          : f.kind === "kill-controller-leader"
            ? ((await cc.leaderOf(f.actor!)) ?? live[0]!)
            : mostUsed(writers) ?? live[0]!;
      cc.killServer(target);
      const victim = target;
      restart = () => cc.restartServer(victim);
      break;
    }
    case "kill-nats": {
      target = targets.pick(live);
      const pid = cc.killNats(target);
      target += pid ? ` (nats-server ${pid})` : " (no nats-server found)";
      break;
    }
    case "kill-worker": {
      target = targets.pick(cc.workers).name;
      cc.killWorker(target);
      const w = target;
      restart = async () => {
        await sleep(2000);
        cc.startWorker(w);
      };
      break;
    }
    case "freeze-server": {
      target = targets.pick(live);
      during = cc.freezeServer(target, f.holdMs!);
      break;
    }
    case "partition-server": {
      target = targets.pick(live);
      during = cc.partitionServer(target, f.holdMs!);
      break;
    }
  }
  const writesS = await until("a write acknowledged", () => writers.lastAckAt() > at + 100, 60_000);
  const serviceS = await until("the Service answers", () => service.answers(probeApi(cc, target)), serviceWaitMs);
  const leadersS = await until("every actor leads", async () => (await cc.everyActorLeads()).length === 0, 60_000);
  const leaderless = leadersS === undefined ? await cc.everyActorLeads() : undefined;
  await during;
  await restart?.();
  return { fault: describeFault(f), target, at: (at - t0) / 1000, writesS, serviceS, leadersS, ...(leaderless ? { leaderless } : {}) };
}

/** The server most writes went to (the api-server the client uses). */
function mostUsed(w: Writers): string | undefined {
  const n = new Map<string, number>();
  for (const x of w.writes.slice(-200)) n.set(x.server, (n.get(x.server) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** The api-server the Service's probe reads the Service through (until it knows the ClusterIP): a live server's other than the fault's target. */
function probeApi(cc: ChaosCluster, target: string) {
  return cc.api(cc.serverNames.find((s) => cc.serverAlive(s) && !target.startsWith(s)) ?? cc.serverNames[0]!);
}

/** Before the next fault: every server is back and every bucket has three current replicas. */
async function healed(cc: ChaosCluster): Promise<void> {
  await until("every server alive", () => cc.serverNames.every((s) => cc.serverAlive(s)), 60_000);
  await until(
    "3 current replicas",
    async () => {
      const s = await cc.placements();
      return s.length > 0 && s.every((p) => p.replicas === 3 && p.leader && p.followers.length === 2 && p.followers.every((x) => x.current && !x.offline));
    },
    60_000,
    500,
  );
  // "Current" is what the leaders report; on nats-server 2.9.10 a new copy still empty can be
  // reported current. So also until every copy of the main bucket is within a few writes of the others.
  await until(
    "the bucket's copies caught up",
    async () => {
      const copies = await cc.bucketCopies();
      return copies.length === cc.serverNames.length && Math.max(...copies.map((x) => x.lastSeq)) - Math.min(...copies.map((x) => x.lastSeq)) <= 20;
    },
    60_000,
    500,
  );
}

/** Once the churn stops: every Deployment at its replicas, no extra pods, no two live pods of one name. */
async function settledDeployments(cc: ChaosCluster): Promise<Violation[]> {
  const api = cc.api(cc.serverNames[0]!);
  const names = [...Deployments.names, "web"];
  let last: Violation[] = [];
  const ok = await until(
    "Deployments settle",
    async () => {
      const out: Violation[] = [];
      const pods = ((await api.call("GET", `/api/v1/namespaces/${NS}/pods`)).body.items as { metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string }; status?: { phase?: string } }[]) ?? [];
      const live = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Failed" && p.status?.phase !== "Succeeded");
      const seen = new Set<string>();
      for (const p of live) {
        if (seen.has(p.metadata.name)) out.push({ check: "duplicate-pod", message: `two live pods named ${p.metadata.name}` });
        seen.add(p.metadata.name);
      }
      for (const d of names) {
        const dep = (await api.call("GET", `/apis/apps/v1/namespaces/${NS}/deployments/${d}`)).body as { spec?: { replicas?: number } };
        const want = dep.spec?.replicas ?? 0;
        const have = live.filter((p) => p.metadata.labels?.app === d).length;
        if (have !== want) out.push({ check: "deployment-pods", message: `deployment ${d}: ${have} live pods, ${want} wanted (maxSurge 1)` });
      }
      last = out;
      return out.length === 0;
    },
    90_000,
    1000,
  );
  return ok === undefined ? last : [];
}

/** Every server's api-server lists the same objects at the same revisions. */
async function serversAgree(cc: ChaosCluster): Promise<Violation[]> {
  const views = await Promise.all(
    cc.serverNames.map(async (s) => {
      // An api-server that is starting again (its server rebuilt its copies) gets 30 s to answer.
      let r: Awaited<ReturnType<ReturnType<ChaosCluster["api"]>["call"]>> | undefined;
      await until(`${s}'s api-server answers`, async () => (r = await cc.api(s).call("GET", `/api/v1/namespaces/${NS}/configmaps`).catch(() => undefined)) !== undefined, 30_000, 500);
      const items = (r?.body.items as { metadata: { name: string; resourceVersion: string } }[] | undefined) ?? [];
      return { s, rv: (r?.body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion, map: new Map(items.map((i) => [i.metadata.name, i.metadata.resourceVersion])) };
    }),
  );
  const out: Violation[] = [];
  const [a, ...rest] = views;
  for (const b of rest) {
    const diff = [...new Set([...a!.map.keys(), ...b.map.keys()])].filter((k) => a!.map.get(k) !== b.map.get(k));
    if (diff.length) out.push({ check: "servers-disagree", message: `${a!.s} (list at ${a!.rv}) and ${b.s} (list at ${b.rv}) differ on ${diff.length} objects, e.g. ${diff.slice(0, 3).map((k) => `${k}: ${a!.map.get(k) ?? "absent"} vs ${b.map.get(k) ?? "absent"}`).join("; ")}` });
  }
  return out;
}

const copiesText = (c: { server: string; messages: number; firstSeq: number; lastSeq: number }[]) => c.map((x) => `${x.server} ${x.messages} messages ${x.firstSeq}..${x.lastSeq}`).join("; ") || "no report";

/** Once writes stop, every server's copy of the main bucket's stream holds the same sequence range. */
async function bucketCopiesAgree(cc: ChaosCluster, say: (l: string) => void): Promise<Violation[]> {
  let copies = await cc.bucketCopies();
  const agree = await until("the bucket's copies agree", async () => copiesAgree((copies = await cc.bucketCopies()), cc.serverNames.length), 20_000, 1000);
  say(`chaos: the bucket's copies at the end: ${copiesText(copies)}`);
  if (agree !== undefined) return [];
  return [{ check: "copies-diverge", message: `20 s after writes stopped the servers' copies of the bucket still differ: ${copiesText(copies)}` }];
}

export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos report — seed ${r.seed}, ${r.mode} run, ${r.seconds} s of churn (started ${r.startedAt})`,
    `writes: ${r.writes.total} (acknowledged ${r.writes.acked}, refused ${r.writes.refused}, ambiguous ${r.writes.ambiguous}); Deployment changes: ${r.deploymentChanges}`,
    `watch: ${r.watch.events} events over ${r.watch.streams} streams (${r.watch.relists} re-lists after 410)`,
    "faults (seconds from the fault until: a write acknowledged / the Service answers / every actor leads):",
    ...r.faults.map((f) => `  ${f.at.toFixed(1).padStart(6)} s  ${f.fault.padEnd(40)} ${f.target.padEnd(36)} ${fmt(f.writesS).padStart(7)} ${fmt(f.serviceS).padStart(7)} ${fmt(f.leadersS).padStart(7)}`),
    "not run:",
    ...Object.entries(r.notRun).map(([k, why]) => `  ${k}: ${why}`),
    `violations: ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  [${v.check}] ${v.message}`),
  ];
  return lines.join("\n");
}

function parseArgs(argv: string[]): ChaosOptions {
  const o: ChaosOptions = { quick: false, seed: Date.now() % 1_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--seed") o.seed = Number(argv[++i]);
    else if (a === "--out") o.out = resolve(argv[++i]!);
    else if (a === "--keep") o.keep = true;
    else if (a === "--rebuild") o.rebuild = true;
    else if (a === "--only") {
      const kinds = (argv[++i] ?? "").split(",");
      const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
      if (unknown.length) throw new Error(`--only: unknown fault ${unknown.join(", ")} (one of ${FAULT_KINDS.join(", ")})`);
      o.only = kinds as FaultKind[];
    } else throw new Error(`unknown argument ${a} (use --quick, --seed N, --out DIR, --keep, --rebuild, --only KIND,…)`);
  }
  if (!Number.isInteger(o.seed)) throw new Error("--seed needs an integer");
  return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runChaos(parseArgs(process.argv.slice(2)))
    .then((r) => process.exit(r.violations.length ? 1 : 0))
    .catch((e) => {
      process.stderr.write(`chaos: ${(e as Error).stack ?? e}\n`);
      process.exit(2);
    });
}
