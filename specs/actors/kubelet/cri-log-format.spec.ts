import { expect } from "chai";
import { CriLogDecoder, parseCriLogLine } from "../../../actors/kubelet/engines/cri/log-format.ts";
import { runtimeVersionOf } from "../../../actors/kubelet/engines/cri.ts";

describe("cri log format", () => {
  it("parses a CRI log line into time, stream, partial flag and text", () => {
    expect(parseCriLogLine("2026-11-30T14:53:47.31197057Z stderr F err")).to.deep.equal({ time: "2026-11-30T14:53:47.31197057Z", stream: "stderr", partial: false, text: "err" });
    expect(parseCriLogLine("2026-11-30T14:53:47Z stdout F")).to.include({ text: "" });
    expect(parseCriLogLine("not a log line")).to.equal(undefined);
  });

  it("joins partial entries into one line and keeps a file line split across reads", () => {
    const d = new CriLogDecoder();
    expect(d.push("2026-01-01T00:00:00.1Z stdout P hel")).to.equal("");
    expect(d.push("lo\n2026-01-01T00:00:00.2Z stdout F  world\n2026-01-01T00:00:00.3Z stderr F next\n")).to.equal("hello world\nnext\n");
  });

  it("puts the time of a line's first piece in front when asked, and drops lines before sinceMs", () => {
    const d = new CriLogDecoder({ timestamps: true, sinceMs: Date.parse("2026-01-01T00:00:01Z") });
    const out = d.push("2026-01-01T00:00:00.5Z stdout F old\n2026-01-01T00:00:02.123456789Z stdout P a\n2026-01-01T00:00:03Z stdout F b\n");
    expect(out).to.equal("2026-01-01T00:00:02.123456789Z ab\n");
  });

  it("hands out an unfinished last line on flush", () => {
    const d = new CriLogDecoder();
    expect(d.push("2026-01-01T00:00:00Z stdout P tail\n")).to.equal("");
    expect(d.flush()).to.equal("tail");
    expect(d.flush()).to.equal("");
  });

  it("reports containerd's version without the distribution's suffix", () => {
    expect(runtimeVersionOf({ runtime_name: "containerd", runtime_version: "1.6.20~ds1" })).to.equal("containerd://1.6.20");
    expect(runtimeVersionOf({ runtime_name: "containerd", runtime_version: "v1.7.2" })).to.equal("containerd://1.7.2");
  });
});
