/**
 * Mocha root hooks for every spec run (.mocharc.json `require`).
 *
 * Loading this file starts the run (run.ts): a run id and a directory of its own, before any spec
 * file is read. After the last spec:
 *   - the leak check: no process, container, network namespace, mount or listening port of this
 *     run may be left (spawned processes get a few seconds to go). What is left is named, the run
 *     fails, and the leftovers are removed so the next run starts clean;
 *   - under `CI=true`, a run in which any test ended up pending (`this.skip()`, `it.skip`,
 *     `describe.skip`) fails, naming the tests: CI installs every piece the specs need.
 */
import type { Suite, Test } from "mocha";
import { rmSync } from "node:fs";
import { underCI } from "./optional.ts";
import { testRun } from "./run.ts";
import { findLeaks, describeLeaks, removeLeaks } from "./leaks.ts";
import type { Leak } from "./leaks.ts";

const run = testRun();

/**
 * How long leftovers get to go away by themselves (processes exiting after SIGTERM, containers
 * being removed); FLOTILLA_LEAK_GRACE_MS overrides it (the leak check's own spec uses a short one).
 */
const LEAK_GRACE_MS = Number(process.env.FLOTILLA_LEAK_GRACE_MS) || 15_000;

/** Every test under a suite that mocha counts as pending, by full title. */
export function pendingTests(suite: Suite): string[] {
  const out: string[] = [];
  const walk = (s: Suite) => {
    for (const t of s.tests as Test[]) if (t.isPending()) out.push(t.fullTitle());
    for (const child of s.suites) walk(child);
  };
  walk(suite);
  return out;
}

async function leakCheck(this: Mocha.Context): Promise<void> {
  this.timeout(LEAK_GRACE_MS + 60_000);
  const deadline = Date.now() + LEAK_GRACE_MS;
  let leaks: Leak[] = await findLeaks(run);
  while (leaks.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    leaks = await findLeaks(run);
  }
  try {
    if (leaks.length) {
      await removeLeaks(leaks);
      throw new Error(`the specs left ${leaks.length} thing(s) of run ${run.id} behind (now removed):\n${describeLeaks(leaks)}`);
    }
  } finally {
    rmSync(run.dir, { recursive: true, force: true });
  }
}

function nothingSkippedUnderCI(this: Mocha.Context): void {
  if (!underCI()) return;
  const root = this.test?.parent;
  const pending = root ? pendingTests(root) : [];
  if (pending.length) throw new Error(`under CI=true nothing may be skipped; ${pending.length} test(s) were:\n  ${pending.join("\n  ")}`);
}

export const mochaHooks = {
  // The leak check first: it also removes what was left, whatever else fails.
  afterAll: [leakCheck, nothingSkippedUnderCI],
};
