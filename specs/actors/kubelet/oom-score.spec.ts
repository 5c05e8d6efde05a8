import { expect } from "chai";
import { oomScoreAdj } from "../../../actors/kubelet/oom-score.ts";

const GiB = 2 ** 30;

describe("kubelet oom_score_adj", () => {
  it("makes guaranteed containers the last and best-effort ones the first the kernel kills", () => {
    expect(oomScoreAdj("Guaranteed", GiB, 16 * GiB)).to.equal(-997);
    expect(oomScoreAdj("BestEffort", 0, 16 * GiB)).to.equal(1000);
  });
  it("ranks burstable containers by their share of the node's memory, within 3…999", () => {
    expect(oomScoreAdj("Burstable", GiB, 16 * GiB)).to.equal(938);
    expect(oomScoreAdj("Burstable", 0, 16 * GiB)).to.equal(999);
    expect(oomScoreAdj("Burstable", 16 * GiB, 16 * GiB)).to.equal(3);
  });
  it("leaves the runtime's own value to a pod of unknown class", () => {
    expect(oomScoreAdj(undefined, GiB, 16 * GiB)).to.equal(undefined);
  });
});
