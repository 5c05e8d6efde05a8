/**
 * Mocha root hooks for every spec run (.mocharc.json `require`). Under `CI=true` a run in which
 * any test ended up pending (skipped by `this.skip()`, `it.skip`, `describe.skip`) fails, naming
 * the tests: CI installs every piece the specs need, so nothing there may skip quietly.
 */
import type { Suite, Test } from "mocha";
import { underCI } from "./optional.ts";

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

export const mochaHooks = {
  afterAll(this: Mocha.Context) {
    if (!underCI()) return;
    const root = this.test?.parent;
    const pending = root ? pendingTests(root) : [];
    if (pending.length) throw new Error(`under CI=true nothing may be skipped; ${pending.length} test(s) were:\n  ${pending.join("\n  ")}`);
  },
};
