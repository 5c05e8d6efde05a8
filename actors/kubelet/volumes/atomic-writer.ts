/**
 * Kubernetes' AtomicWriter layout for configMap, secret, downwardAPI and projected volumes, so a
 * reader never sees half an update:
 *
 *   <dir>/..2026_11_30_14_35_35.123456789/key   the files of one version (a timestamped directory)
 *   <dir>/..data -> ..2026_11_30_14_35_35.123456789
 *   <dir>/key -> ..data/key                     one symlink per top-level name of the payload
 *
 * An update writes a new timestamped directory, points `..data_tmp` at it and renames that over
 * `..data` (one atomic rename swaps every file at once), adds or removes the per-name symlinks,
 * then deletes the old directory. An unchanged payload writes nothing.
 *
 * With an owner (ownership.ts: the pod's fsUser / fsGroup), every file, directory and link of the
 * volume is given to it; a version owned by someone else counts as changed.
 *
 * @example
 *   writePayload(dir, new Map([["index.html", { data: Buffer.from("hi"), mode: 0o644 }]]));
 */
import type { Payload } from "./payload.ts";
import type { VolumeOwner } from "./ownership.ts";
import { chownTo } from "./ownership.ts";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

const DATA = "..data";
const DATA_TMP = "..data_tmp";

function tsDirName(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const ts = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${ts}.${randomBytes(5).readUInt32BE(0)}`;
}

function filesUnder(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

/** Whether the version `..data` points at holds exactly this payload (content, modes and owner). */
function unchanged(current: string, payload: Payload, owner: VolumeOwner): boolean {
  const files = filesUnder(current);
  if (files.length !== payload.size) return false;
  for (const [p, f] of payload) {
    const file = join(current, p);
    if (!existsSync(file)) return false;
    const st = statSync(file);
    if ((st.mode & 0o777) !== f.mode) return false;
    if ((owner.fsUser !== undefined && st.uid !== owner.fsUser) || (owner.fsGroup !== undefined && st.gid !== owner.fsGroup)) return false;
    if (!readFileSync(file).equals(f.data)) return false;
  }
  return true;
}

const topNames = (payload: Payload) => new Set([...payload.keys()].map((p) => p.split("/")[0]!));

/** Writes the payload into `dir` (created 0755 if absent), owned by `owner`. Returns true when something changed. */
export function writePayload(dir: string, payload: Payload, now = new Date(), owner: VolumeOwner = {}): boolean {
  mkdirSync(dir, { recursive: true });
  chownTo(dir, owner);
  const link = join(dir, DATA);
  const old = existsSync(link) ? readlinkSync(link) : undefined;
  if (old && unchanged(join(dir, old), payload, owner)) return false;
  const version = tsDirName(now);
  const vdir = join(dir, version);
  mkdirSync(vdir, { mode: 0o755 });
  chownTo(vdir, owner);
  for (const [p, f] of payload) {
    const file = join(vdir, p);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, f.data, { mode: f.mode });
    chmodSync(file, f.mode);
    chownTo(file, owner);
    for (let d = dirname(file); d !== vdir; d = dirname(d)) chownTo(d, owner);
  }
  const tmp = join(dir, DATA_TMP);
  rmSync(tmp, { force: true });
  symlinkSync(version, tmp);
  chownTo(tmp, owner);
  renameSync(tmp, link);
  const names = topNames(payload);
  for (const n of names) {
    const visible = join(dir, n);
    const exists = (() => {
      try {
        return lstatSync(visible).isSymbolicLink();
      } catch {
        return false;
      }
    })();
    if (!exists) {
      symlinkSync(join(DATA, n), visible);
      chownTo(visible, owner);
    }
  }
  for (const e of readdirSync(dir)) {
    if (e.startsWith("..")) {
      if (e !== DATA && e !== version) rmSync(join(dir, e), { recursive: true, force: true });
      continue;
    }
    if (!names.has(e)) unlinkSync(join(dir, e));
  }
  return true;
}
