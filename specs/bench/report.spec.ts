import { expect } from "chai";
import type { BenchResults, Figure } from "../../bench/report/types.ts";
import { formatRatio, formatValue, ratioOf, verdict, versusAnchor } from "../../bench/report/format.ts";
import { renderTable, renderMarkdown, replaceTable, TABLE_BEGIN, TABLE_END } from "../../bench/report/table.ts";
import { renderSvg, ratioX } from "../../bench/report/svg.ts";

const p99: Figure = {
  id: "store.create.c1.p99",
  section: "Store",
  label: "create p99, 1 in flight",
  value: 3,
  unit: "ms",
  better: "lower",
  anchor: { value: 2, label: "raw KV put" },
  goal: { value: 3, label: "≤ 1.5× raw KV" },
};
const rate: Figure = {
  id: "sched.5000.rate",
  section: "Scheduler",
  label: "pods/s at 5,000 nodes",
  value: 540,
  unit: "/s",
  better: "higher",
  anchor: { value: 270, label: "kube-scheduler gate", published: "performance-config.yaml" },
  goal: { value: 300, label: "≥ anchor" },
};
const skipped: Figure = { id: "store.etcd", section: "Store", label: "create vs etcd put", unit: "/s", better: "higher", anchor: { value: 900, label: "etcd | gateway" }, note: "no etcd binary" };

function results(figures: Figure[], extra: Partial<BenchResults> = {}): BenchResults {
  return {
    startedAt: "2026-11-24T22:00:00.000Z",
    mode: "quick",
    seconds: 95,
    host: { cpus: 2, cpuModel: "Test CPU", memoryGb: 23, node: "v20", platform: "linux" },
    benches: [{ name: "mixed", ok: true, seconds: 3, figures }],
    ...extra,
  };
}

describe("bench report", () => {
  describe("ratios and values", () => {
    it("divides the figure by its anchor", () => {
      expect(ratioOf(p99)).to.equal(1.5);
      expect(ratioOf(rate)).to.equal(2);
    });
    it("has no ratio for a figure that was not measured or has no anchor", () => {
      expect(ratioOf(skipped)).to.equal(undefined);
      expect(ratioOf({ ...p99, anchor: undefined })).to.equal(undefined);
      expect(ratioOf({ ...p99, anchor: { value: 0, label: "zero" } })).to.equal(undefined);
    });
    it("formats ratios with two significant digits below ten and whole numbers above", () => {
      expect(formatRatio(0.04213)).to.equal("0.042×");
      expect(formatRatio(1.5)).to.equal("1.5×");
      expect(formatRatio(26.4)).to.equal("26×");
      expect(formatRatio(1020.2)).to.equal("1,020×");
      expect(formatRatio(undefined)).to.equal("—");
    });
    it("formats values with their unit and a precision that fits their size", () => {
      expect(formatValue(1234.5, "/s")).to.equal("1,235 /s");
      expect(formatValue(12.34, "ms")).to.equal("12.3 ms");
      expect(formatValue(0.1234, "ms")).to.equal("0.123 ms");
      expect(formatValue(undefined, "ms")).to.equal("—");
    });
    it("meets a lower-is-better goal at or below it and a higher-is-better goal at or above it", () => {
      expect(verdict(p99)).to.equal("met");
      expect(verdict({ ...p99, value: 3.1 })).to.equal("missed");
      expect(verdict(rate)).to.equal("met");
      expect(verdict({ ...rate, value: 299 })).to.equal("missed");
      expect(verdict(skipped)).to.equal("—");
    });
    it("says in words which way the figure differs from its anchor", () => {
      expect(versusAnchor(p99)).to.equal("1.5× worse");
      expect(versusAnchor(rate)).to.equal("2× better");
      expect(versusAnchor({ ...p99, value: 0.5 })).to.equal("4× better");
      expect(versusAnchor({ ...p99, value: 2.05 })).to.equal("about the same");
    });
  });

  describe("markdown", () => {
    it("puts each figure beside its anchor, ratio and goal under its section", () => {
      const t = renderTable(results([p99, rate]));
      const lines = t.split("\n");
      const store = lines.findIndex((l) => l.startsWith("| **Store**"));
      const sched = lines.findIndex((l) => l.startsWith("| **Scheduler**"));
      expect(store).to.be.greaterThan(0);
      expect(sched).to.be.greaterThan(store);
      // A same-run ratio and a ratio to a published figure sit in different columns.
      expect(lines[store + 1]).to.equal("| create p99, 1 in flight ↓ | **3 ms** | 2 ms (raw KV put; measured in this run) | 1.5× | — | 1.5× worse | 3 ms (≤ 1.5× raw KV) | met |  |");
      expect(lines[sched + 1]).to.contain("| **540 /s** | 270 /s (kube-scheduler gate; published: performance-config.yaml) | — | 2× | 2× better |");
    });
    it("shows a skipped figure as not measured and escapes pipes in labels", () => {
      const t = renderTable(results([skipped]));
      expect(t).to.contain("| create vs etcd put ↑ | not measured | 900 /s (etcd \\| gateway; measured in this run) | — | — | — | — | — | no etcd binary |");
    });
    it("never prints an extrapolated value as a measured one", () => {
      const t = renderTable(results([{ ...p99, id: "memory.x", section: "Memory", label: "150,000 pods", unit: "MB", value: 5112, extrapolated: true, anchor: undefined, goal: undefined }]));
      expect(t).to.contain("| ~5,112 MB (extrapolated, not measured) |");
      expect(t).to.not.contain("**5,112 MB**");
    });
    it("lists the benchmarks that did not finish", () => {
      const r = results([p99]);
      r.benches.push({ name: "docker-peer", ok: false, seconds: 1, figures: [], error: "dockerd is not running" });
      expect(renderTable(r)).to.contain("- `docker-peer` did not finish: dockerd is not running");
      expect(renderMarkdown(r)).to.contain("| docker-peer | failed | 1.0 s |");
    });
  });

  describe("docs markers", () => {
    it("replaces only what lies between the markers", () => {
      const doc = `# Performance\n\nintro\n\n${TABLE_BEGIN}\nold table\n${TABLE_END}\n\n## How\n`;
      const out = replaceTable(doc, "new table");
      expect(out).to.equal(`# Performance\n\nintro\n\n${TABLE_BEGIN}\nnew table\n${TABLE_END}\n\n## How\n`);
      expect(replaceTable(out, "newer")).to.contain(`${TABLE_BEGIN}\nnewer\n${TABLE_END}\n\n## How`);
    });
    it("appends the markers and the table when the document has none", () => {
      expect(replaceTable("# Performance\n", "t")).to.equal(`# Performance\n\n${TABLE_BEGIN}\nt\n${TABLE_END}\n`);
    });
  });

  describe("svg chart", () => {
    it("centres 1× and puts 0.01× and 100× at the ends of the axis", () => {
      expect(ratioX(1)).to.equal(210);
      expect(ratioX(0.01)).to.equal(0);
      expect(ratioX(100)).to.equal(420);
      expect(ratioX(1e6)).to.equal(420);
    });
    it("draws one bar per measured figure with a reference, coloured by its goal", () => {
      const svg = renderSvg(results([p99, { ...rate, value: 200 }, skipped, { ...p99, id: "x", label: "no ref", anchor: undefined, goal: undefined }]));
      expect(svg.startsWith("<svg")).to.equal(true);
      expect(svg.trimEnd().endsWith("</svg>")).to.equal(true);
      const bars = svg.match(/<rect x=[^>]*fill="(#[0-9a-f]+)"\/>/g) ?? [];
      expect(bars).to.have.length(2);
      expect(bars[0]).to.contain("#2e9d4f");
      expect(bars[1]).to.contain("#d0453b");
      expect(svg).to.contain("not measured");
      expect(svg).to.not.contain("no ref");
      expect(svg).to.contain("1.5× of raw KV put (3 ms)");
    });
    it("escapes text so that labels cannot break the document", () => {
      const svg = renderSvg(results([{ ...p99, label: "a <b> & c" }]));
      expect(svg).to.contain("a &lt;b&gt; &amp; c");
    });
  });
});
