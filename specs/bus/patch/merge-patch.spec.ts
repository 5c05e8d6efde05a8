import { expect } from "chai";
import { applyMergePatch } from "../../../bus/patch/merge-patch.ts";

describe("applyMergePatch (RFC 7386)", () => {
  // RFC 7386 appendix A, every row.
  const rfcExamples: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  rfcExamples.forEach(([target, patch, result], i) => {
    it(`produces the RFC 7386 appendix A result #${i + 1}`, () => {
      expect(applyMergePatch(target, patch)).to.deep.equal(result);
    });
  });

  it("adds a label the way kubectl label sends it", () => {
    const pod = { metadata: { name: "p", labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } };
    const out = applyMergePatch(pod, { metadata: { labels: { env: "prod" } } });
    expect(out).to.deep.equal({ metadata: { name: "p", labels: { app: "web", env: "prod" } }, spec: { containers: [{ name: "c" }] } });
  });

  it("leaves its inputs untouched and shares no structure with them", () => {
    const target = { spec: { replicas: 1, template: { x: 1 } } };
    const patch = { spec: { replicas: 3, extra: { y: 2 } } };
    const out = applyMergePatch(target, patch) as { spec: { template: { x: number }; extra: { y: number } } };
    expect(target).to.deep.equal({ spec: { replicas: 1, template: { x: 1 } } });
    out.spec.template.x = 9;
    out.spec.extra.y = 9;
    expect(target.spec.template.x).to.equal(1);
    expect(patch.spec.extra.y).to.equal(2);
  });
});
