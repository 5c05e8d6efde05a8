/**
 * The history checker: pure, over what a chaos run recorded (history.ts).
 *
 * - Every acknowledged write is seen at its revision with its value, or superseded: a later revision
 *   of the same key was seen (a watch may skip a revision that was overwritten before it got there,
 *   as KV keeps one revision per key), and the final state is not older than it.
 * - An acknowledged delete is followed by a later revision of its key (the DELETED event, or a
 *   re-create), never by the object it deleted.
 * - Nothing appears that nobody wrote, and nothing a refused write carried.
 * - Two acknowledged writes of one key, the second sent after the first was acknowledged, are in
 *   that order (real-time order of revisions).
 * - Of the compare-and-swap writes (updates, deletes) of one key from one revision, at most one is
 *   acknowledged: the others must be refused with a conflict, or one change is lost unseen.
 * - Every watch stream delivers strictly increasing revisions, and no event twice across resumes.
 * - The watches end at the final state: the last revision they saw of every key is what the
 *   final list holds (or a DELETED when the list does not hold it).
 */
import type { History, Violation, EventRecord } from "./history.ts";

const n = (rv: string | undefined) => (rv === undefined ? -1 : Number(rv));

/**
 * The workload's ConfigMaps are all named `cm-<marker>`. Others in its namespace belong to the
 * cluster (kube-root-ca.crt, which the root CA publisher writes into every namespace) and are
 * left out of the history.
 */
export const WORKLOAD_PREFIX = "cm-";
const workload = (key: string) => (key.split("/")[1] ?? "").startsWith(WORKLOAD_PREFIX);

export function checkHistory(full: History): Violation[] {
  const h: History = { ...full, events: full.events.filter((e) => workload(e.key)), final: full.final.filter((f) => workload(f.key)) };
  const out: Violation[] = [];
  const v = (check: string, message: string) => out.push({ check, message });

  const byKey = new Map<string, EventRecord[]>();
  for (const e of h.events) {
    const l = byKey.get(e.key) ?? [];
    l.push(e);
    byKey.set(e.key, l);
  }
  const final = new Map(h.final.map((f) => [f.key, f]));
  const latestSeen = (key: string) => Math.max(-1, ...(byKey.get(key) ?? []).map((e) => n(e.rv)), n(final.get(key)?.rv));
  const writeOf = new Map(h.writes.map((w) => [w.marker, w]));

  for (const w of h.writes) {
    if (w.outcome !== "acked") continue;
    if (w.kind === "delete") {
      const base = n(w.baseRv);
      if (latestSeen(w.key) <= base) v("acknowledged-delete-lost", `${w.key}: delete #${w.id} of revision ${w.baseRv} was acknowledged, but no later revision of the key was ever seen`);
      continue;
    }
    const rv = n(w.rv);
    const at = (byKey.get(w.key) ?? []).filter((e) => n(e.rv) === rv);
    const fin = final.get(w.key);
    for (const e of at) if (e.type !== "DELETED" && e.marker !== w.marker) v("wrong-value", `${w.key}@${w.rv}: the watch saw value ${e.marker}, the acknowledged ${w.kind} #${w.id} wrote ${w.marker}`);
    if (fin && n(fin.rv) === rv && fin.marker !== w.marker) v("wrong-value", `${w.key}@${w.rv}: the final state holds ${fin.marker}, the acknowledged ${w.kind} #${w.id} wrote ${w.marker}`);
    const seen = at.length > 0 || (fin && n(fin.rv) === rv);
    if (!seen && latestSeen(w.key) <= rv) v("acknowledged-write-lost", `${w.key}: ${w.kind} #${w.id} was acknowledged at revision ${w.rv} but never seen, nor superseded`);
    if (fin && n(fin.rv) < rv) v("final-state-rollback", `${w.key}: the final state is at revision ${fin.rv}, older than acknowledged ${w.kind} #${w.id} at ${w.rv}`);
    if (fin === undefined && latestSeen(w.key) <= rv && seen) {
      // Acknowledged, seen, and gone from the final state without any later revision: lost.
      v("acknowledged-write-lost", `${w.key}: ${w.kind} #${w.id} at revision ${w.rv} is missing from the final state and nothing deleted it`);
    }
  }

  for (const e of h.events) {
    if (e.type === "DELETED") continue;
    const w = e.marker ? writeOf.get(e.marker) : undefined;
    if (!w) v("phantom-write", `${e.key}@${e.rv}: ${e.type} with value ${e.marker ?? "(none)"} that no write carried`);
    else if (w.outcome === "refused") v("refused-write-applied", `${e.key}@${e.rv}: value ${e.marker} of ${w.kind} #${w.id}, which was refused with ${w.status}`);
    else if (w.key !== e.key) v("phantom-write", `${e.key}@${e.rv}: value ${e.marker} belongs to a write of ${w.key}`);
  }
  for (const f of h.final) {
    const w = f.marker ? writeOf.get(f.marker) : undefined;
    if (!w) v("phantom-write", `${f.key}@${f.rv}: the final state holds ${f.marker ?? "(no value)"}, which no write carried`);
    else if (w.outcome === "refused") v("refused-write-applied", `${f.key}@${f.rv}: the final state holds the value of refused ${w.kind} #${w.id}`);
  }

  // Real-time order: w2 sent after w1 was acknowledged must have the later revision.
  const acked = h.writes.filter((w) => w.outcome === "acked" && w.kind !== "delete");
  const ackedByKey = new Map<string, typeof acked>();
  for (const w of acked) ackedByKey.set(w.key, [...(ackedByKey.get(w.key) ?? []), w]);
  for (const [key, ws] of ackedByKey) {
    const sorted = [...ws].sort((a, b) => a.doneAt - b.doneAt);
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        if (sorted[j]!.sentAt > sorted[i]!.doneAt && n(sorted[j]!.rv) <= n(sorted[i]!.rv)) {
          v("stale-order", `${key}: #${sorted[j]!.id} (revision ${sorted[j]!.rv}) was sent after #${sorted[i]!.id} (revision ${sorted[i]!.rv}) was acknowledged`);
        }
      }
    }
  }

  // Compare-and-swap: one winner per key and base revision.
  const fromBase = new Map<string, typeof h.writes>();
  for (const w of h.writes) {
    if (w.outcome !== "acked" || w.baseRv === undefined) continue;
    const k = `${w.key}@${w.baseRv}`;
    fromBase.set(k, [...(fromBase.get(k) ?? []), w]);
  }
  for (const [k, ws] of fromBase) if (ws.length > 1) v("cas-lost-update", `${k}: ${ws.map((x) => `${x.kind} #${x.id}`).join(" and ")} were all acknowledged from the same revision`);

  // Watch streams: strictly increasing within a stream, nothing delivered twice.
  const lastOf = new Map<number, number>();
  const delivered = new Set<string>();
  for (const e of h.events) {
    if (e.type === "LISTED") continue;
    const last = lastOf.get(e.stream) ?? -1;
    if (n(e.rv) <= last) v("watch-order", `stream ${e.stream}: revision ${e.rv} (${e.key}) after ${last}`);
    lastOf.set(e.stream, Math.max(last, n(e.rv)));
    const id = `${e.key}@${e.rv}`;
    if (delivered.has(id)) v("watch-duplicate", `${id} ${e.type} delivered twice`);
    delivered.add(id);
  }

  // The watches end where the final list is.
  for (const [key, evs] of byKey) {
    const last = evs.reduce((a, b) => (n(b.rv) > n(a.rv) ? b : a));
    const fin = final.get(key);
    if (fin && n(fin.rv) > n(last.rv)) v("watch-behind", `${key}: the final state is at revision ${fin.rv}, the watches last saw ${last.rv}`);
    if (fin && n(fin.rv) < n(last.rv)) v("final-state-rollback", `${key}: the final state is at revision ${fin.rv}, the watches saw ${last.rv}`);
    if (!fin && last.type !== "DELETED") v("watch-missed-delete", `${key}: gone from the final state, but the last thing the watches saw was ${last.type} at ${last.rv}`);
  }
  for (const f of h.final) if (!byKey.has(f.key)) v("watch-behind", `${f.key}@${f.rv}: in the final state, never seen by a watch`);
  return out;
}

/** Whether every one of `servers` servers reported a copy of a stream, and all copies hold the same messages at the same sequences. */
export function copiesAgree(copies: readonly { messages: number; firstSeq: number; lastSeq: number }[], servers: number): boolean {
  return copies.length === servers && new Set(copies.map((c) => `${c.messages}/${c.firstSeq}/${c.lastSeq}`)).size === 1;
}
