/**
 * Files on disk that survive a crash at any moment: written to a temporary file beside the target,
 * flushed (fsync), then renamed over it, so a reader sees the old content or the new, never half.
 * A file that does not parse is logged and set aside as `<name>.corrupt-<timestamp>` (kept for a
 * person to look at) and treated as absent, so it never makes its owner fail again on restart.
 *
 * @example
 *   writeFileAtomic(join(dir, "meta.json"), JSON.stringify(meta));
 *   const meta = readJsonFile(join(dir, "meta.json"), isMeta, log); // undefined if absent or corrupt
 */
import type { Logger } from "./logger.ts";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { createLogger } from "./logger.ts";

export interface AtomicWriteOptions {
  /** File mode of a new file (default 0o644). */
  mode?: number;
  /** Flush the data and the directory entry to disk (default true). */
  fsync?: boolean;
}

/** Replaces `path` with `data` atomically. */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const sync = o.fsync !== false;
  try {
    const fd = openSync(tmp, "w", o.mode ?? 0o644);
    try {
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  if (sync) syncDir(dirname(path));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

const defaultLog = () => createLogger("files");

/** Renames a corrupt file to `<name>.corrupt-<timestamp>` and logs it. Returns the new path. */
export function setAside(path: string, why: string, log: Logger = defaultLog()): string | undefined {
  const to = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  try {
    renameSync(path, to);
  } catch (e) {
    // Gone already (another reader set it aside): nothing left to do.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    log.error("cannot set a corrupt file aside", { path, error: (e as Error).message });
    return undefined;
  }
  log.warn("corrupt file set aside", { path, to, why });
  return to;
}

/**
 * Reads a text file that `accept` recognises. Absent → undefined; present but unreadable or not
 * accepted → set aside, then undefined.
 */
export function readCheckedFile<T>(path: string, accept: (text: string) => T | undefined, log: Logger = defaultLog()): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    setAside(path, `unreadable: ${(e as Error).message}`, log);
    return undefined;
  }
  let v: T | undefined;
  let why = "not in the expected format";
  try {
    v = accept(text);
  } catch (e) {
    v = undefined;
    why = (e as Error).message;
  }
  if (v === undefined) setAside(path, why, log);
  return v;
}

/** Reads a JSON file whose content passes `valid`; see `readCheckedFile`. */
export function readJsonFile<T>(path: string, valid: (v: unknown) => v is T, log?: Logger): T | undefined {
  return readCheckedFile(path, (text) => {
    const v: unknown = JSON.parse(text);
    return valid(v) ? v : undefined;
  }, log);
}
