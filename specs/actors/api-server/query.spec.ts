import { expect } from "chai";
import { FlotillaError } from "../../../bus/errors.ts";
import { goParseBool, goParseDuration, goParseInt64, goParseUint64, int64Param, isPrettyPrint, kubeBool, parseQuery, splitTarget } from "../../../actors/api-server/query.ts";
import { parseRoute } from "../../../actors/api-server/routes.ts";

const badRequest = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(FlotillaError);
    expect((e as FlotillaError).code).to.equal("BadRequest");
    return (e as FlotillaError).message;
  }
  throw new Error("expected a BadRequest");
};

describe("api-server query parsing", () => {
  describe("booleans", () => {
    it("reads query booleans as apimachinery's Convert_Slice_string_To_bool: only 0 and false (any case) are false", () => {
      for (const v of ["true", "True", "TRUE", "1", "t", "T", "f", "F", "yes", ""]) expect(kubeBool(parseQuery(`watch=${v}`), "watch"), v).to.equal(true);
      for (const v of ["false", "False", "FALSE", "fAlSe", "0"]) expect(kubeBool(parseQuery(`watch=${v}`), "watch"), v).to.equal(false);
      expect(kubeBool(parseQuery("limit=1"), "watch")).to.equal(undefined);
    });

    it("reads pretty with Go's strconv.ParseBool, every spelling it takes and nothing else", () => {
      for (const v of ["1", "t", "T", "TRUE", "true", "True"]) expect(goParseBool(v), v).to.equal(true);
      for (const v of ["0", "f", "F", "FALSE", "false", "False"]) expect(goParseBool(v), v).to.equal(false);
      for (const v of ["yes", "tRUE", "", " true", "2"]) expect(goParseBool(v), v).to.equal(undefined);
    });

    it("pretty-prints for ?pretty=<true>, for curl, Wget and browsers, and not for a pretty it cannot read", () => {
      expect(isPrettyPrint("pretty=True", undefined)).to.equal(true);
      expect(isPrettyPrint("pretty=1", "kubectl/v1.32.4")).to.equal(true);
      expect(isPrettyPrint("", "curl/7.88.1")).to.equal(true);
      expect(isPrettyPrint("", "Wget/1.21")).to.equal(true);
      expect(isPrettyPrint("", "Mozilla/5.0 (X11)")).to.equal(true);
      expect(isPrettyPrint("pretty=false", "curl/7.88.1")).to.equal(false);
      expect(isPrettyPrint("pretty=yes", "curl/7.88.1")).to.equal(false);
      expect(isPrettyPrint("pretty=%ZZ", "kubectl/v1.32.4")).to.equal(false);
      expect(isPrettyPrint("", "kubectl/v1.32.4")).to.equal(false);
    });
  });

  describe("integers", () => {
    it("takes what Go's ParseInt(s, 10, 64) takes", () => {
      for (const [s, n] of [["0", 0], ["+5", 5], ["-5", -5], ["007", 7], ["9223372036854775807", 9223372036854775807], ["-9223372036854775808", -9223372036854775808]] as const) {
        expect(goParseInt64(s), s).to.deep.equal({ ok: true, value: n });
      }
    });

    it("refuses the rest with Go's words", () => {
      for (const s of ["", " 1", "1 ", "1.0", "1e3", "0x10", "1_000", "--1", "+", "abc", "١"]) {
        expect(goParseInt64(s), s).to.deep.equal({ ok: false, error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax` });
      }
      expect(goParseInt64("9223372036854775808")).to.deep.equal({ ok: false, error: 'strconv.ParseInt: parsing "9223372036854775808": value out of range' });
      expect(goParseUint64("-1")).to.deep.equal({ ok: false, error: 'strconv.ParseUint: parsing "-1": invalid syntax' });
      expect(goParseUint64("18446744073709551616")).to.deep.equal({ ok: false, error: 'strconv.ParseUint: parsing "18446744073709551616": value out of range' });
    });

    it("answers a bad integer parameter with a 400 naming it", () => {
      expect(badRequest(() => int64Param(parseQuery("tailLines=ten"), "tailLines"))).to.equal('tailLines: Invalid value: "ten": strconv.ParseInt: parsing "ten": invalid syntax');
      expect(int64Param(parseQuery("tailLines=10"), "tailLines")).to.equal(10);
      expect(int64Param(parseQuery(""), "tailLines")).to.equal(undefined);
    });
  });

  describe("durations", () => {
    it("reads Go durations", () => {
      for (const [s, ms] of [["32s", 32_000], ["5s", 5_000], ["1m30s", 90_000], ["1h", 3_600_000], ["250ms", 250], ["1.5s", 1_500], [".5s", 500], ["0", 0], ["-1s", -1_000], ["2h45m", 9_900_000], ["1500us", 1.5], ["1µs", 0.001]] as const) {
        expect(goParseDuration(s), s).to.deep.equal({ ok: true, ms });
      }
    });

    it("refuses what Go refuses, with Go's words", () => {
      expect(goParseDuration("abc")).to.deep.equal({ ok: false, error: 'time: invalid duration "abc"' });
      expect(goParseDuration("")).to.deep.equal({ ok: false, error: 'time: invalid duration ""' });
      expect(goParseDuration(".s")).to.deep.equal({ ok: false, error: 'time: invalid duration ".s"' });
      expect(goParseDuration("5")).to.deep.equal({ ok: false, error: 'time: missing unit in duration "5"' });
      expect(goParseDuration("5y")).to.deep.equal({ ok: false, error: 'time: unknown unit "y" in duration "5y"' });
    });
  });

  describe("escapes", () => {
    it("decodes the query like Go's url.ParseQuery: + is a space, %XX a byte", () => {
      const q = parseQuery("labelSelector=app%3Dweb%2Ctier+in+(a)&a&b=");
      expect(q.get("labelSelector")).to.equal("app=web,tier in (a)");
      expect(q.get("a")).to.equal("");
      expect(q.get("b")).to.equal("");
    });

    it("answers a malformed escape in a query key or value with a 400 naming the parameter", () => {
      expect(badRequest(() => parseQuery("labelSelector=%ZZ"))).to.equal('query parameter "labelSelector": invalid URL escape "%ZZ"');
      expect(badRequest(() => parseQuery("fieldSelector=a%"))).to.equal('query parameter "fieldSelector": invalid URL escape "%"');
      expect(badRequest(() => parseQuery("%G1=1"))).to.equal('query parameter "%G1": invalid URL escape "%G1"');
      expect(badRequest(() => parseQuery("x=%C0%AF"))).to.equal('query parameter "x": the escaped bytes are not valid UTF-8');
    });

    it("answers a malformed escape, a NUL and a dot segment anywhere in the path with a 400", () => {
      const q = new URLSearchParams();
      expect(badRequest(() => parseRoute("GET", "/api/v1/namespaces/%ZZ/pods", q))).to.equal('path segment "%ZZ": invalid URL escape "%ZZ"');
      expect(badRequest(() => parseRoute("GET", "/%", q))).to.equal('path segment "%": invalid URL escape "%"');
      expect(badRequest(() => parseRoute("GET", "/api/v1/nodes/%C0%AF", q))).to.equal('path segment "%C0%AF": the escaped bytes are not valid UTF-8');
      expect(badRequest(() => parseRoute("GET", "/api/v1/nodes/n%00", q))).to.equal('path segment "n%00": may not contain a NUL byte');
      expect(badRequest(() => parseRoute("GET", "/api/v1/namespaces/default/../pods", q))).to.equal("path segment \"..\": may not be '..'");
      expect(badRequest(() => parseRoute("DELETE", "/api/v1/namespaces/default/pods/%2E", q))).to.equal("path segment \"%2E\": may not be '.'");
      expect(badRequest(() => parseRoute("GET", "/api/v1/namespaces/a%25b/pods", q))).to.equal(`namespace: Invalid value: "a%b": may not contain '%'`);
      expect(parseRoute("GET", "/api/v1/namespaces/default/pods/web%2D1", q)).to.include({ type: "resource", name: "web-1" });
    });

    it("splits an origin-form or absolute-form target, and refuses anything else", () => {
      expect(splitTarget("/api/v1/pods?watch=1")).to.deep.equal({ path: "/api/v1/pods", query: "watch=1" });
      expect(splitTarget("https://127.0.0.1:6443/version")).to.deep.equal({ path: "/version", query: "" });
      expect(badRequest(() => splitTarget("*"))).to.equal('malformed request target "*"');
    });
  });
});
