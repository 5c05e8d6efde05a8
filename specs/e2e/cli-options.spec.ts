/** The CLI's option parsers: `--lease-ms` and `--opt`. */
import { expect } from "chai";
import { parseActorOptions, parseLeaseMs } from "../../cli/actor-options.ts";
import { leaderTiming } from "../../runtime/leader-timing.ts";

describe("cli options", () => {
  it("--lease-ms takes whole milliseconds and gives Kubernetes' proportions", () => {
    expect(parseLeaseMs(undefined)).to.equal(undefined);
    expect(parseLeaseMs("15000")).to.equal(15000);
    expect(leaderTiming({ leaseDurationMs: parseLeaseMs("15000") })).to.deep.equal({ leaseDurationMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 2000 });
  });

  it("--lease-ms refuses what is not a usable duration, naming the flag", () => {
    for (const bad of ["", "12x", "-5000", "1.5", "100"]) expect(() => parseLeaseMs(bad), bad).to.throw(/--lease-ms/);
  });

  it("--opt parses numbers, booleans and JSON, and refuses a pair without a key", () => {
    expect(parseActorOptions(["a=1", "b=true", 'c={"x":2}', "d=text"])).to.deep.equal({ a: 1, b: true, c: { x: 2 }, d: "text" });
    expect(() => parseActorOptions(["=1"])).to.throw(/key=value/);
  });
});
