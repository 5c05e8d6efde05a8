/**
 * This spec run's identity, so that what it starts can be told apart from what other runs on the
 * same machine start at the same time (they share one dockerd, one process table, one /tmp).
 *
 * On first use (the root hooks load it before any spec file) it picks a run id and points the
 * process — and everything it spawns — at a directory of its own:
 *   FLOTILLA_TEST_RUN=<id>            inherited by every child process: the leak check's marker
 *   TMPDIR=<run dir>/tmp              every mkdtemp(tmpdir()) of a spec or of nats-server lands here
 *   FLOTILLA_DATA_DIR=<run dir>/data  process-engine kubelets without a dataDir keep their pods here
 * and `runCluster()` names clusters (hence Docker containers, `flotilla_<cluster>_…`) after the run.
 *
 * @example
 *   const c = await startTestCluster({ cluster: runCluster("pd") }); // "pd-r1a2b3c4d-1"
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export const RUN_ENV = "FLOTILLA_TEST_RUN";

export interface TestRun {
  /** `r` + 8 hex digits. */
  id: string;
  /** Everything on disk this run creates lives under it. */
  dir: string;
  /** The mocha process. */
  pid: number;
}

let current: TestRun | undefined;

export function testRun(): TestRun {
  if (current) return current;
  // A nested mocha (a spec running mocha in a child) is a run of its own.
  const id = `r${randomBytes(4).toString("hex")}`;
  const dir = join(tmpdir(), `flotilla-run-${id}`);
  mkdirSync(join(dir, "tmp"), { recursive: true });
  mkdirSync(join(dir, "data"), { recursive: true });
  process.env[RUN_ENV] = id;
  process.env.TMPDIR = join(dir, "tmp");
  process.env.FLOTILLA_DATA_DIR = join(dir, "data");
  process.env.FLOTILLA_LOG ??= "warn";
  current = { id, dir, pid: process.pid };
  return current;
}

let clusters = 0;

/** A cluster name no other run uses: `<prefix>-<run id>-<n>`. */
export function runCluster(prefix = "t"): string {
  return `${prefix}-${testRun().id}-${(++clusters).toString(36)}`;
}
