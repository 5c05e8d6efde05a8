import { expect } from "chai";
import { readFileSync } from "node:fs";
import { planLanes, specFiles, HOST_STATE } from "./lanes.ts";

describe("the lanes of npm run test:lanes", () => {
  const times: Record<string, number> = { a: 50, b: 40, c: 30, d: 20, e: 10, h1: 35, h2: 5 };
  const timeOf = (f: string) => times[f] ?? 1;
  const isHostState = (f: string) => f.startsWith("h");

  it("keeps every host-state file in the first lane, in order, and balances the rest longest first", () => {
    const plan = planLanes(["a", "b", "c", "d", "e", "h1", "h2"], { lanes: 3, isHostState, timeOf });
    expect(plan.map((l) => l.name)).to.deep.equal(["host", "lane-1", "lane-2"]);
    expect(plan[0]!.files.slice(0, 2)).to.deep.equal(["h1", "h2"]);
    // host starts at 40; a → lane-1 (50), b → lane-2 (40), c → host (70), d → lane-2 (60), e → lane-1 (60)
    expect(plan.map((l) => l.files)).to.deep.equal([["h1", "h2", "c"], ["a", "e"], ["b", "d"]]);
    expect(plan.map((l) => l.ms)).to.deep.equal([70, 60, 60]);
    expect(plan.flatMap((l) => l.files).sort()).to.deep.equal(["a", "b", "c", "d", "e", "h1", "h2"]);
  });

  it("runs everything in one lane when asked for one, and drops lanes left empty", () => {
    expect(planLanes(["b", "h1", "a"], { lanes: 1, isHostState, timeOf }).map((l) => l.files)).to.deep.equal([["b", "h1", "a"]]);
    expect(planLanes(["a"], { lanes: 4, isHostState, timeOf }).map((l) => l.files)).to.deep.equal([["a"]]);
  });

  it("sends the specs that use the Docker engine, containerd or network namespaces to the host lane, and the HA servers' not", () => {
    const host = (f: string) => HOST_STATE.test(readFileSync(f, "utf8"));
    const files = specFiles(["specs/integration"]);
    for (const f of ["specs/integration/kubelet-docker.spec.ts", "specs/integration/kubelet-cri.spec.ts", "specs/integration/pod-network.spec.ts", "specs/integration/proxy-docker.spec.ts"]) {
      expect(files).to.include(f);
      expect(host(f), f).to.equal(true);
    }
    for (const f of ["specs/integration/ha-servers.spec.ts", "specs/integration/store-single-writer.spec.ts"]) expect(host(f), f).to.equal(false);
  });
});
