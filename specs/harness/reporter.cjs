/**
 * The suite's reporter (.mocharc.json): mocha's `spec` output, then the spec files that took
 * longest, hooks included, so the suite's time (kept well under 15 minutes) has its causes named.
 * With FLOTILLA_SPEC_TIMES=<file> it also writes every spec file's time there as JSON
 * (`{ "specs/…spec.ts": ms }`): the lanes of `npm run test:lanes` (specs/harness/lanes.ts) are balanced by it.
 */
"use strict";
const Mocha = require("mocha");
const { writeFileSync } = require("node:fs");
const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;

class FlotillaReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const started = new Map();
    const took = new Map();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && suite.parent && suite.parent.root) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const t = started.get(suite);
      if (t === undefined) return;
      const file = suite.file.replace(`${process.cwd()}/`, "");
      took.set(file, (took.get(file) || 0) + (Date.now() - t));
    });
    runner.once(EVENT_RUN_END, () => {
      const all = [...took].sort((a, b) => b[1] - a[1]);
      const total = all.reduce((n, [, ms]) => n + ms, 0);
      if (process.env.FLOTILLA_SPEC_TIMES) writeFileSync(process.env.FLOTILLA_SPEC_TIMES, `${JSON.stringify(Object.fromEntries(all), null, 1)}\n`);
      if (all.length < 2) return;
      process.stdout.write(`\n  slowest spec files (of ${Math.round(total / 1000)} s in ${all.length} files):\n`);
      for (const [file, ms] of all.slice(0, 15)) process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}\n`);
    });
  }
}

module.exports = FlotillaReporter;
