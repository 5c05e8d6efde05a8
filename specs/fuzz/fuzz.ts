/**
 * The fuzzer: a real cluster (`up()`, simulated engine), N generated HTTP requests and N generated
 * bus messages, then the checks that nothing died or was corrupted: the same actors answer
 * `actors.ping`, nats-server answers, no fault was contained and no actor restarted, no prototype
 * was polluted, and every stored object passes admission when read back. Failures are shrunk by
 * fast-check (replaying the failing run) to a small counterexample.
 *
 * @example
 *   const report = await runFuzz({ seed: 42, httpRuns: 1000, busRuns: 1000 });
 *   if (report.problems.length) console.error(report.problems);
 */
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningCluster } from "../../cli/up.ts";
import type { KubeObject } from "../../bus/resources.ts";
import type { HttpCase, HttpTarget } from "./http.ts";
import type { BusCase } from "./bus.ts";
import { up } from "../../cli/up.ts";
import { connectNats, pingActors } from "../../runtime/host.ts";
import { faults, containProcessFaults } from "../../runtime/containment.ts";
import { StoreClient } from "../../bus/store-client.ts";
import { RESOURCE_TYPES } from "../../bus/kinds.ts";
import { admit } from "../../actors/store/admission/index.ts";
import { httpCaseArb, httpTarget, send, judge, describeCase } from "./http.ts";
import { busCaseArb, sendBus, judgeBus, describeBus } from "./bus.ts";
import { validObject, FUZZ_NS, NAMES } from "./objects.ts";
import { KNOWN_OPEN } from "./known.ts";

export interface FuzzOptions {
  seed: number;
  httpRuns: number;
  busRuns: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** How many distinct failures to shrink per side, and the time each may take (default 3, 20 s). */
  shrinks?: number;
  shrinkMs?: number;
  nodes?: number;
  progress?: (line: string) => void;
}

export interface Failure {
  run: number;
  reason: string;
  example: string;
  /** The shrunk counterexample, when shrinking ran. */
  shrunk?: string;
  count: number;
}

export interface SideReport {
  sent: number;
  answers: Record<string, number>;
  failures: Failure[];
}

export interface KnownReport {
  id: string;
  what: string;
  sent: number;
  failed: number;
  heldBack: number;
  example?: string;
}

export interface FuzzReport {
  seed: number;
  http: SideReport;
  /** Known open issues (specs/fuzz/known.ts): sent a few times, reported apart. */
  known: KnownReport[];
  bus: SideReport;
  storedObjects: number;
  /** Everything that is wrong after the run (failures included); empty when the run passed. */
  problems: string[];
}

/** Runs `work` over `items`, `n` at a time, in order of start. */
async function pool<T>(items: T[], n: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** The cases fast-check generates for a seed, in run order (so run i replays with `path: "i"`). */
function generate<T>(arb: fc.Arbitrary<T>, seed: number, numRuns: number): T[] {
  const out: T[] = [];
  fc.check(fc.property(arb, (c) => void out.push(c)), { seed, numRuns });
  return out;
}

async function shrink<T>(arb: fc.Arbitrary<T>, seed: number, run: number, fails: (c: T) => Promise<boolean>, describe: (c: T) => string, ms: number): Promise<string | undefined> {
  const r = await fc.check(fc.asyncProperty(arb, async (c) => !(await fails(c))), { seed, path: String(run), interruptAfterTimeLimit: ms });
  return r.failed && r.counterexample ? describe(r.counterexample[0]) : undefined;
}

const waitHealthy = async (t: HttpTarget, deadlineMs: number) => {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const a = await send(t, { method: "GET", segments: ["healthz"], raw: true, query: "", token: "none", intent: { watch: false } }, 2000);
    if (a.status === 200) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

async function seedObjects(store: StoreClient): Promise<void> {
  for (const ns of [FUZZ_NS, "fuzz-2"]) await store.create("namespaces", undefined, validObject(RESOURCE_TYPES[0]!, ns) as KubeObject).catch(() => undefined);
  for (const resource of ["configmaps", "secrets", "services", "pods", "deployments", "leases", "endpoints"]) {
    const rt = RESOURCE_TYPES.find((r) => r.resource === resource)!;
    for (const name of NAMES.slice(0, 3)) {
      const o = validObject(rt, name, FUZZ_NS) as KubeObject;
      if (resource === "pods") (o.spec as { nodeName?: string }).nodeName = "node-1";
      await store.create(resource, FUZZ_NS, o).catch(() => undefined);
    }
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const say = o.progress ?? (() => undefined);
  const concurrency = o.concurrency ?? 4;
  process.env.FLOTILLA_LOG ??= "error";
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-fuzz-"));
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
  const faultsBefore = faults().total;
  let cluster: RunningCluster | undefined;
  const problems: string[] = [];
  // The run contains faults itself and reports them (a test runner's own handler would end it).
  const others = process.listeners("uncaughtException");
  process.removeAllListeners("uncaughtException");
  const release = containProcessFaults();
  try {
    cluster = await up({ dataDir, nodes: o.nodes ?? 2, engine: "simulated", port: 0, quiet: true });
    const nc = await connectNats(cluster.natsUrl, "fuzzer", cluster.admin);
    const store = new StoreClient(nc, "default");
    const clusterName = "default";
    await seedObjects(store);
    const target = httpTarget(cluster.apiUrl, readFileSync(join(dataDir, "pki", "ca.crt"), "utf8"), { admin: cluster.adminToken, view: cluster.viewToken });
    const actorsBefore = (await pingActors(nc, clusterName, 500)).map((a) => `${a.kind}/${a.id}`).sort();

    // HTTP. While the api-server is down (a crash being contained), every sender waits for it.
    const httpCases = generate(httpCaseArb, o.seed, o.httpRuns);
    const http: SideReport = { sent: 0, answers: {}, failures: [] };
    const httpFails = new Map<string, Failure>();
    const known = KNOWN_OPEN.map((k): KnownReport => ({ id: k.id, what: k.what, sent: 0, failed: 0, heldBack: 0 }));
    let recovering: Promise<boolean> | undefined;
    const recover = () => (recovering ??= waitHealthy(target, 60_000).finally(() => (recovering = undefined)));
    const sendGated = async (c: HttpCase) => {
      for (let attempt = 0; ; attempt++) {
        await recovering;
        const a = await send(target, c);
        if (!a.error) return a;
        void recover();
        // Refused: it never reached the api-server. Cut off while a known issue's crash was being
        // contained (a fault in the last seconds): a bystander. Either way, send it again once the
        // api-server is back.
        const bystander = Date.now() - (faults().recent.at(-1)?.at ?? 0) < 5000 && !KNOWN_OPEN.some((k) => k.fault && k.matches(c));
        if ((/ECONNREFUSED/.test(a.error) || bystander) && attempt < 3) continue;
        return a;
      }
    };
    say(`HTTP: sending ${httpCases.length} requests (seed ${o.seed})`);
    await pool(httpCases, concurrency, async (c, i) => {
      const k = KNOWN_OPEN.findIndex((x) => x.matches(c));
      if (k >= 0 && known[k]!.sent >= KNOWN_OPEN[k]!.budget) {
        known[k]!.heldBack++;
        return;
      }
      const a = await sendGated(c);
      http.sent++;
      if (http.sent % 1000 === 0) say(`  ${http.sent} sent`);
      const key = a.error ? "no answer" : String(a.status);
      http.answers[key] = (http.answers[key] ?? 0) + 1;
      const reason = judge(c, a);
      if (k >= 0) {
        known[k]!.sent++;
        if (reason !== undefined) {
          known[k]!.failed++;
          known[k]!.example ??= `${describeCase(c)} → ${reason}`;
        }
        return;
      }
      if (reason === undefined) return;
      const f = httpFails.get(reason);
      if (f) f.count++;
      else httpFails.set(reason, { run: i, reason, example: describeCase(c), count: 1 });
    });
    http.failures = [...httpFails.values()].sort((a, b) => a.run - b.run);

    // Bus.
    const busArb = busCaseArb(cluster.nodes);
    const busCases = generate(busArb, o.seed, o.busRuns);
    const bus: SideReport = { sent: 0, answers: {}, failures: [] };
    const busFails = new Map<string, Failure>();
    say(`bus: sending ${busCases.length} messages (seed ${o.seed})`);
    await pool(busCases, concurrency, async (c, i) => {
      const a = await sendBus(nc, clusterName, c);
      bus.sent++;
      const key = a.error ? "no answer" : answerKey(a.data!);
      bus.answers[key] = (bus.answers[key] ?? 0) + 1;
      const reason = judgeBus(c, a);
      if (reason === undefined) return;
      const f = busFails.get(reason);
      if (f) f.count++;
      else busFails.set(reason, { run: i, reason, example: describeBus(clusterName, c), count: 1 });
    });
    bus.failures = [...busFails.values()].sort((a, b) => a.run - b.run);

    // Shrink a few of each.
    const shrinks = o.shrinks ?? 3;
    for (const f of http.failures.slice(0, shrinks)) {
      say(`shrinking HTTP failure "${f.reason}" (run ${f.run})`);
      f.shrunk = await shrink(httpCaseArb, o.seed, f.run, async (c: HttpCase) => {
        if (KNOWN_OPEN.some((k) => k.matches(c))) return false;
        return judge(c, await sendGated(c)) === f.reason;
      }, describeCase, o.shrinkMs ?? 20_000);
    }
    for (const f of bus.failures.slice(0, shrinks)) {
      say(`shrinking bus failure "${f.reason}" (run ${f.run})`);
      f.shrunk = await shrink(busArb, o.seed, f.run, async (c: BusCase) => judgeBus(c, await sendBus(nc, clusterName, c)) === f.reason, (c) => describeBus(clusterName, c), o.shrinkMs ?? 20_000);
    }
    for (const f of http.failures) problems.push(`HTTP: ${f.reason} (${f.count}×, first at run ${f.run}): ${f.shrunk ?? f.example}`);
    for (const f of bus.failures) problems.push(`bus: ${f.reason} (${f.count}×, first at run ${f.run}): ${f.shrunk ?? f.example}`);

    // Nothing died.
    const actorsAfter = (await pingActors(nc, clusterName, 500)).map((a) => `${a.kind}/${a.id}`).sort();
    if (actorsAfter.join() !== actorsBefore.join()) problems.push(`actors.ping changed: before ${actorsBefore.join(", ")}; after ${actorsAfter.join(", ")}`);
    if (cluster.server && (await Promise.race([cluster.server.exited.then(() => true), Promise.resolve(false)]))) problems.push("nats-server exited");
    await nc.flush().catch((e: unknown) => problems.push(`nats-server does not answer: ${String(e)}`));
    if (!(await waitHealthy(target, 60_000))) problems.push("the api-server does not answer /healthz");
    // Faults: those a known issue causes are expected (and restart their actor); any other is a problem.
    const fs = faults();
    const expectedRestarts = new Map<string, number>();
    const fresh = fs.total > faultsBefore ? fs.recent.slice(-Math.min(fs.recent.length, fs.total - faultsBefore)) : [];
    for (const f of fresh) {
      const who = f.actor ? `${f.actor.kind}/${f.actor.id}` : "no actor";
      if (KNOWN_OPEN.some((k) => k.fault?.test(f.error))) expectedRestarts.set(who, (expectedRestarts.get(who) ?? 0) + 1);
      else problems.push(`contained ${f.origin} in ${who}: ${f.error.split("\n").slice(0, 3).join(" | ")}`);
    }
    for (const a of cluster.host.actors) {
      const extra = a.supervisor.restartCount - (expectedRestarts.get(`${a.kind}/${a.id}`) ?? 0);
      if (extra > 0) problems.push(`actor ${a.kind}/${a.id} was restarted ${extra}× (not by a known issue)`);
    }
    if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== protoBefore || ({} as Record<string, unknown>).polluted !== undefined) problems.push("Object.prototype was polluted");

    // Every stored object passes admission when read back.
    let storedObjects = 0;
    for (const rt of RESOURCE_TYPES) {
      const list = await store.list(rt.resource).catch((e: unknown) => (problems.push(`listing ${rt.resource} failed: ${String(e)}`), undefined));
      for (const item of list?.items ?? []) {
        storedObjects++;
        try {
          admit(rt, item, { now: () => new Date(), operation: "update", old: item });
        } catch (e) {
          problems.push(`stored ${rt.resource} ${item.metadata?.namespace ?? ""}/${item.metadata?.name} fails admission: ${(e as Error).message.slice(0, 300)}`);
        }
      }
    }
    await nc.close();
    target.agent.destroy();
    return { seed: o.seed, http, known, bus, storedObjects, problems };
  } finally {
    await cluster?.stop();
    release();
    for (const l of others) process.on("uncaughtException", l);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `ok`, the error code, or the frame type, for the answer tally. */
function answerKey(data: Uint8Array): string {
  try {
    const v = JSON.parse(Buffer.from(data).toString()) as { ok?: boolean; type?: string; error?: { code?: string }; kind?: string };
    if (v.type === "error") return `frame error ${v.error?.code}`;
    if (v.type) return `frame ${v.type}`;
    if (v.ok === true) return "ok";
    if (v.ok === false) return `error ${v.error?.code}`;
    return v.kind ? "presence" : "other";
  } catch {
    return "not JSON";
  }
}

export function formatReport(r: FuzzReport): string {
  const tally = (a: Record<string, number>) =>
    Object.entries(a)
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
  const lines = [
    `seed ${r.seed}`,
    `HTTP: ${r.http.sent} requests — ${tally(r.http.answers)}`,
    `bus:  ${r.bus.sent} messages — ${tally(r.bus.answers)}`,
    `stored objects read back through admission: ${r.storedObjects}`,
  ];
  for (const k of r.known) {
    if (k.sent === 0) continue;
    if (k.failed === 0) lines.push(`known issue ${k.id}: none of the ${k.sent} request(s) sent for it failed (if that holds across seeds, remove it from specs/fuzz/known.ts)`);
    else lines.push(`known issue ${k.id} (open elsewhere): ${k.failed}/${k.sent} sent failed, ${k.heldBack} more held back — ${k.what}\n    e.g. ${k.example}`);
  }
  if (r.problems.length === 0) lines.push("PASS: no failures; every actor and nats-server still answer; nothing stored fails admission");
  else lines.push(`FAIL: ${r.problems.length} problem(s):`, ...r.problems.map((p) => `  - ${p}`));
  return lines.join("\n");
}
