import { expect } from "chai";
import { ErrorCode, FlotillaError } from "../../../bus/errors.ts";
import { applyJsonPatch } from "../../../bus/patch/json-patch.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    return (e as FlotillaError).code;
  }
  throw new Error("expected the patch to fail");
}

describe("applyJsonPatch (RFC 6902)", () => {
  describe("with the RFC 6902 appendix A examples", () => {
    it("adds an object member (A.1)", () => {
      expect(applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz", value: "qux" }])).to.deep.equal({ foo: "bar", baz: "qux" });
    });
    it("adds an array element (A.2)", () => {
      expect(applyJsonPatch({ foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }])).to.deep.equal({ foo: ["bar", "qux", "baz"] });
    });
    it("removes an object member (A.3)", () => {
      expect(applyJsonPatch({ baz: "qux", foo: "bar" }, [{ op: "remove", path: "/baz" }])).to.deep.equal({ foo: "bar" });
    });
    it("removes an array element (A.4)", () => {
      expect(applyJsonPatch({ foo: ["bar", "qux", "baz"] }, [{ op: "remove", path: "/foo/1" }])).to.deep.equal({ foo: ["bar", "baz"] });
    });
    it("replaces a value (A.5)", () => {
      expect(applyJsonPatch({ baz: "qux", foo: "bar" }, [{ op: "replace", path: "/baz", value: "boo" }])).to.deep.equal({ baz: "boo", foo: "bar" });
    });
    it("moves a value (A.6)", () => {
      const doc = { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } };
      expect(applyJsonPatch(doc, [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }])).to.deep.equal({
        foo: { bar: "baz" },
        qux: { corge: "grault", thud: "fred" },
      });
    });
    it("moves an array element (A.7)", () => {
      const doc = { foo: ["all", "grass", "cows", "eat"] };
      expect(applyJsonPatch(doc, [{ op: "move", from: "/foo/1", path: "/foo/3" }])).to.deep.equal({ foo: ["all", "cows", "eat", "grass"] });
    });
    it("passes a successful test (A.8)", () => {
      const doc = { baz: "qux", foo: ["a", 2, "c"] };
      const ops = [
        { op: "test", path: "/baz", value: "qux" },
        { op: "test", path: "/foo/1", value: 2 },
      ];
      expect(applyJsonPatch(doc, ops)).to.deep.equal(doc);
    });
    it("rejects a failing test with Invalid (A.9)", () => {
      expect(codeOf(() => applyJsonPatch({ baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }]))).to.equal(ErrorCode.Invalid);
    });
    it("adds a nested member object (A.10)", () => {
      expect(applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/child", value: { grandchild: {} } }])).to.deep.equal({
        foo: "bar",
        child: { grandchild: {} },
      });
    });
    it("ignores unrecognized members of an operation (A.11)", () => {
      expect(applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz", value: "qux", xyz: 123 }])).to.deep.equal({ foo: "bar", baz: "qux" });
    });
    it("rejects adding under a nonexistent parent with Invalid (A.12)", () => {
      expect(codeOf(() => applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz/bat", value: "qux" }]))).to.equal(ErrorCode.Invalid);
    });
    it("unescapes ~0 and ~1 in pointers (A.14)", () => {
      const doc = { "/": 9, "~1": 10 };
      expect(applyJsonPatch(doc, [{ op: "test", path: "/~01", value: 10 }])).to.deep.equal(doc);
      expect(applyJsonPatch(doc, [{ op: "replace", path: "/~1", value: 1 }])).to.deep.equal({ "/": 1, "~1": 10 });
    });
    it("compares strings and numbers strictly (A.15)", () => {
      expect(codeOf(() => applyJsonPatch({ "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: "10" }]))).to.equal(ErrorCode.Invalid);
    });
    it("adds an array value (A.16)", () => {
      expect(applyJsonPatch({ foo: ["bar"] }, [{ op: "add", path: "/foo/-", value: ["abc", "def"] }])).to.deep.equal({ foo: ["bar", ["abc", "def"]] });
    });
  });

  it("copies a value without aliasing it", () => {
    const out = applyJsonPatch({ a: { x: 1 } }, [
      { op: "copy", from: "/a", path: "/b" },
      { op: "replace", path: "/b/x", value: 2 },
    ]);
    expect(out).to.deep.equal({ a: { x: 1 }, b: { x: 2 } });
  });

  it("applies kubectl rollout undo's replace of the pod template", () => {
    const deploy = { metadata: { name: "web", annotations: { a: "1" } }, spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } } };
    const template = { spec: { containers: [{ name: "web", image: "nginx:1.26" }] } };
    const out = applyJsonPatch(deploy, [
      { op: "replace", path: "/spec/template", value: template },
      { op: "replace", path: "/metadata/annotations", value: { b: "2" } },
    ]);
    expect(out).to.deep.equal({ metadata: { name: "web", annotations: { b: "2" } }, spec: { template } });
  });

  it("compares objects in a test regardless of key order", () => {
    expect(() => applyJsonPatch({ a: { x: 1, y: [1, 2] } }, [{ op: "test", path: "/a", value: { y: [1, 2], x: 1 } }])).not.to.throw();
  });

  it("is atomic: a failing operation leaves the input untouched", () => {
    const doc = { metadata: { labels: { a: "1" } } };
    expect(() =>
      applyJsonPatch(doc, [
        { op: "remove", path: "/metadata/labels/a" },
        { op: "test", path: "/metadata/labels", value: { a: "1" } },
      ]),
    ).to.throw(FlotillaError);
    expect(doc).to.deep.equal({ metadata: { labels: { a: "1" } } });
  });

  it("rejects removing or replacing a missing path with Invalid", () => {
    expect(codeOf(() => applyJsonPatch({ a: 1 }, [{ op: "remove", path: "/b" }]))).to.equal(ErrorCode.Invalid);
    expect(codeOf(() => applyJsonPatch({ a: 1 }, [{ op: "replace", path: "/b", value: 1 }]))).to.equal(ErrorCode.Invalid);
    expect(codeOf(() => applyJsonPatch({ a: [1] }, [{ op: "replace", path: "/a/1", value: 1 }]))).to.equal(ErrorCode.Invalid);
    expect(codeOf(() => applyJsonPatch({ a: [1] }, [{ op: "add", path: "/a/01", value: 1 }]))).to.equal(ErrorCode.Invalid);
  });

  it("rejects moving a value into its own child with Invalid", () => {
    expect(codeOf(() => applyJsonPatch({ a: { b: 1 } }, [{ op: "move", from: "/a", path: "/a/b/c" }]))).to.equal(ErrorCode.Invalid);
  });

  it("rejects a malformed patch document with BadRequest", () => {
    expect(codeOf(() => applyJsonPatch({}, { op: "add" }))).to.equal(ErrorCode.BadRequest);
    expect(codeOf(() => applyJsonPatch({}, [{ op: "frobnicate", path: "/a" }]))).to.equal(ErrorCode.BadRequest);
    expect(codeOf(() => applyJsonPatch({}, [{ op: "add", path: "/a" }]))).to.equal(ErrorCode.BadRequest);
    expect(codeOf(() => applyJsonPatch({}, [{ op: "add", path: "a", value: 1 }]))).to.equal(ErrorCode.BadRequest);
    expect(codeOf(() => applyJsonPatch({}, [{ op: "move", path: "/a" }]))).to.equal(ErrorCode.BadRequest);
    expect(codeOf(() => applyJsonPatch({ "~2": 1 }, [{ op: "remove", path: "/~2" }]))).to.equal(ErrorCode.BadRequest);
  });
});
