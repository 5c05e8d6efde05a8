/**
 * The fuzzer as a spec: 1,000 generated HTTP requests and 1,000 generated bus messages against a
 * real cluster. `npm run fuzz` runs 10,000 of each (and takes --seed, --runs).
 */
import { expect } from "chai";
import { runFuzz, formatReport } from "./fuzz.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);

describe("fuzzing a running cluster", function () {
  this.timeout(120_000);

  it(`answers 1,000 generated HTTP requests and 1,000 bus messages without dying or storing anything invalid (seed ${SEED})`, async () => {
    const report = await runFuzz({ seed: SEED, httpRuns: 1000, busRuns: 1000, shrinks: 2, shrinkMs: 5000 });
    const text = formatReport(report);
    process.stdout.write(text.replace(/^/gm, "      ") + "\n");
    expect(report.http.sent + report.known.reduce((n, k) => n + k.heldBack, 0)).to.equal(1000);
    expect(report.bus.sent).to.equal(1000);
    expect(report.problems, text).to.deep.equal([]);
  });
});
