import { expect } from "chai";
import { checkUntrusted, decodeUntrusted, MAX_MESSAGE_DEPTH } from "../../bus/codec.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
const refusal = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    expect((e as FlotillaError).code).to.equal(ErrorCode.Invalid);
    return (e as Error).message;
  }
};

describe("decoding a message from outside", () => {
  it("draws the depth limit exactly where the walk of the decoded value does", () => {
    for (const n of [MAX_MESSAGE_DEPTH - 1, MAX_MESSAGE_DEPTH, MAX_MESSAGE_DEPTH + 1, MAX_MESSAGE_DEPTH + 2]) {
      const walk = refusal(() => checkUntrusted(JSON.parse(nested(n)), "x"));
      const text = refusal(() => decodeUntrusted(bytes(nested(n)), "x"));
      expect(text, `depth ${n}`).to.equal(walk);
    }
    expect(refusal(() => decodeUntrusted(bytes(nested(11)), "x", { maxDepth: 10 }))).to.match(/nested deeper than 10 levels/);
    expect(refusal(() => decodeUntrusted(bytes(`{"a":${nested(9)}}`), "x", { maxDepth: 10 }))).to.equal(undefined);
  });

  it("counts no bracket inside a string, escaped quotes included", () => {
    const deepInString = JSON.stringify({ s: `\\"${nested(500)}` });
    expect(decodeUntrusted(bytes(deepInString), "x")).to.deep.equal(JSON.parse(deepInString));
  });

  it("refuses a __proto__ key, spelled out or escaped", () => {
    expect(refusal(() => decodeUntrusted(bytes('{"a":{"__proto__":{"admin":true}}}'), "x"))).to.match(/"__proto__" is not allowed/);
    expect(refusal(() => decodeUntrusted(bytes('{"a":{"\\u005f_proto__":{"admin":true}}}'), "x"))).to.match(/"__proto__" is not allowed/);
    // The same text as a value is no key: allowed.
    expect(decodeUntrusted(bytes('{"note":"__proto__ is a word"}'), "x")).to.deep.equal({ note: "__proto__ is a word" });
  });

  it("refuses bytes that are not UTF-8, then still decodes the next message", () => {
    expect(refusal(() => decodeUntrusted(new Uint8Array([0x7b, 0xff, 0x7d]), "x"))).to.match(/not JSON/);
    expect(decodeUntrusted(bytes('{"ok":"é"}'), "x")).to.deep.equal({ ok: "é" });
  });
});
