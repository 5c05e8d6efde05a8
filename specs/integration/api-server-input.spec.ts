/**
 * Hostile and malformed HTTP input against a real api-server (HTTPS, nats-server + store behind
 * it, in this process): every answer is a Kubernetes Status naming what is wrong, nothing stored
 * changes, and the server keeps answering.
 */
import type { TLSSocket } from "node:tls";
import type { ApiEnv } from "../e2e/api-server-env.ts";
import type { RawAnswer } from "../harness/raw-https.ts";
import { expect } from "chai";
import { startApiEnv } from "../e2e/api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";
import { openTls, parseResponse, rawRequest, requestHead } from "../harness/raw-https.ts";

const NOT_FOUND_BYTES = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n';
const UNAUTHORIZED_BYTES = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n';
const TIMEOUT_BYTES = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within the allotted timeout","reason":"Timeout","details":{},"code":504}\n';

describe("api-server input hardening", function () {
  this.timeout(60_000);
  let env: ApiEnv;
  const auth = (token?: string) => ({ Authorization: `Bearer ${token ?? env.tokens.admin}` });
  const send = (method: string, target: string | Buffer, o: { headers?: Record<string, string>; body?: string | Buffer; token?: string | null } = {}) => {
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const headers = { ...(o.token === null ? {} : auth(o.token)), ...(body ? { "Content-Length": String(body.length) } : {}), ...o.headers };
    return rawRequest(env.url, env.caPem, requestHead(method, target, headers), body);
  };
  const status = (a: RawAnswer) => JSON.parse(a.body) as { kind: string; code: number; reason?: string; message: string; details?: Record<string, unknown> };
  const expectStatus = (a: RawAnswer, code: number, message?: RegExp | string) => {
    expect(a.status, a.body).to.equal(code);
    expect(a.headers["content-type"]).to.equal("application/json");
    const s = status(a);
    expect(s).to.include({ kind: "Status", code });
    if (message instanceof RegExp) expect(s.message).to.match(message);
    else if (message !== undefined) expect(s.message).to.equal(message);
    return s;
  };
  const stillUp = async () => {
    const r = await send("GET", "/api/v1/namespaces/default/configmaps/keep");
    expect(r.status, "the api-server still answers").to.equal(200);
    expect(JSON.parse(r.body).data).to.deep.equal({ a: "1" });
  };

  before(async () => {
    env = await startApiEnv({ requestTimeoutSeconds: 1, maxWatchesPerUser: 2 });
    const created = await send("POST", "/api/v1/namespaces/default/configmaps", { body: JSON.stringify({ metadata: { name: "keep" }, data: { a: "1" } }), headers: { "Content-Type": "application/json" } });
    expect(created.status, created.body).to.equal(201);
  });
  after(async () => {
    await env?.stop();
  });

  describe("malformed URLs", () => {
    const bad: [string, RegExp][] = [
      ["/api/v1/namespaces/%ZZ/pods", /invalid URL escape "%ZZ"/],
      ["/%ZZ", /invalid URL escape "%ZZ"/],
      ["/api/%ZZ", /invalid URL escape/],
      ["/api/v1/%ZZ", /invalid URL escape/],
      ["/apis/%ZZ/v1/deployments", /invalid URL escape/],
      ["/api/v1/namespaces/default/%ZZ", /invalid URL escape/],
      ["/api/v1/namespaces/default/pods/%ZZ", /invalid URL escape/],
      ["/api/v1/namespaces/default/pods/x/%ZZ", /invalid URL escape/],
      ["/ui/%ZZ", /invalid URL escape/],
      ["/api/v1/namespaces/%/pods", /^path segment "%": invalid URL escape "%"$/],
      ["/api/v1/namespaces/%0/pods", /^path segment "%0": invalid URL escape "%0"$/],
      ["/api/v1/namespaces/default/pods/%C0%AF", /not valid UTF-8/],
      ["/api/v1/namespaces/default/pods/a%00b", /NUL byte/],
      ["/api/v1/namespaces/default/pods/../secrets", /may not be '\.\.'/],
      ["/api/v1/namespaces/default/pods/%2e%2e", /may not be '\.\.'/],
      ["/api/v1/namespaces/default/pods/./x", /may not be '\.'/],
      ["/api/v1/namespaces/default/pods/a%2Fb", /^name: Invalid value: "a\/b": may not contain '\/'$/],
      ["/api/v1/namespaces/default/pods?labelSelector=%ZZ", /query parameter "labelSelector": invalid URL escape "%ZZ"/],
      ["/api/v1/namespaces/default/pods?%ZZ=1", /query parameter "%ZZ": invalid URL escape/],
      ["/api/v1/namespaces/default/pods?watch=%", /query parameter "watch": invalid URL escape "%"/],
      ["/api/v1/namespaces/default/pods?limit=%C0%AF", /query parameter "limit".*not valid UTF-8/],
    ];
    for (const [target, message] of bad) {
      it(`answers 400 with a Status to ${target}, with or without a token, and keeps serving`, async () => {
        const s = expectStatus(await send("GET", target), 400, message);
        expect(s.reason).to.equal("BadRequest");
        expectStatus(await send("GET", target, { token: null }), 400, message);
        await stillUp();
      });
    }

    it("answers a raw NUL byte in the request line with a 400 Status", async () => {
      const s = expectStatus(await send("GET", Buffer.from("/api/v1/namespaces/a\0b/pods", "latin1")), 400, /malformed HTTP request/);
      expect(s.reason).to.equal("BadRequest");
      await stillUp();
    });

    it("answers 414 with a Status to a path over the URL limit, and 431 past the header limit", async () => {
      const long = `/api/v1/namespaces/default/pods/${"a".repeat(40 * 1024)}`;
      expectStatus(await send("GET", long), 414, /^the request URI is too long: \d+ bytes, the limit is 32768$/);
      const huge = `/api/v1/namespaces/default/pods/${"a".repeat(100 * 1024)}`;
      const r = await send("GET", huge);
      expect(r.status).to.equal(431);
      expect(status(r)).to.include({ kind: "Status", code: 431 });
      const header = await send("GET", "/api/v1/namespaces/default/configmaps/keep", { headers: { "X-Padding": "p".repeat(100 * 1024) } });
      expect(header.status).to.equal(431);
      await stillUp();
    });
  });

  describe("query parameters", () => {
    // apimachinery's Convert_Slice_string_To_bool: only "0" and "false" in any case are false.
    for (const v of ["true", "True", "TRUE", "1", "t", "T", "f", "yes", ""]) {
      it(`takes watch=${JSON.stringify(v)} as a watch, as Kubernetes does`, async () => {
        const r = await send("GET", `/api/v1/namespaces/default/configmaps?watch=${v}&timeoutSeconds=1&fieldSelector=metadata.name%3Dkeep`);
        expect(r.status).to.equal(200);
        expect(r.headers["transfer-encoding"]).to.equal("chunked");
        const lines = r.body.split("\n").filter((l) => l !== "");
        expect(lines.map((l) => JSON.parse(l).type)).to.deep.equal(["ADDED"]);
      });
    }
    for (const v of ["false", "False", "FALSE", "0"]) {
      it(`takes watch=${v} as a list`, async () => {
        const r = await send("GET", `/api/v1/namespaces/default/configmaps?watch=${v}`);
        expect(r.status).to.equal(200);
        expect(JSON.parse(r.body).kind).to.equal("ConfigMapList");
      });
    }

    it("ends a watch after timeoutSeconds", async () => {
      const started = Date.now();
      const r = await send("GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1");
      expect(r.status).to.equal(200);
      expect(Date.now() - started).to.be.lessThan(5_000);
    });

    it("reads integers as Go's ParseInt does", async () => {
      const all = (JSON.parse((await send("GET", "/api/v1/namespaces/default/configmaps")).body) as { items: unknown[] }).items.length;
      expect(all).to.be.greaterThan(1);
      // A limit of 1 (however written) gives one item; 0 and -1 mean no limit.
      for (const [v, n] of [["1", 1], ["%2B1", 1], ["007", 7], ["-1", all], ["0", all]] as const) {
        const r = await send("GET", `/api/v1/namespaces/default/configmaps?limit=${v}`);
        expect(r.status, `limit=${v}`).to.equal(200);
        expect(JSON.parse(r.body).items, `limit=${v}`).to.have.length(Math.min(n, all));
      }
    });

    const badInts: [string, string, RegExp][] = [
      ["/api/v1/namespaces/default/configmaps?limit=abc", "limit", /^limit: Invalid value: "abc": strconv\.ParseInt: parsing "abc": invalid syntax$/],
      ["/api/v1/namespaces/default/configmaps?limit=", "limit", /^limit: Invalid value: "": strconv\.ParseInt/],
      ["/api/v1/namespaces/default/configmaps?limit=1.5", "limit", /^limit: Invalid value: "1\.5"/],
      ["/api/v1/namespaces/default/configmaps?limit=0x10", "limit", /^limit: Invalid value: "0x10"/],
      ["/api/v1/namespaces/default/configmaps?limit=%201", "limit", /^limit: Invalid value: " 1"/],
      ["/api/v1/namespaces/default/configmaps?limit=9223372036854775808", "limit", /value out of range$/],
      ["/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=soon", "timeoutSeconds", /^timeoutSeconds: Invalid value: "soon": strconv\.ParseInt/],
      ["/api/v1/namespaces/default/configmaps?resourceVersion=abc", "resourceVersion", /^resourceVersion: Invalid value: "abc": strconv\.ParseUint: parsing "abc": invalid syntax$/],
      ["/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=-1", "resourceVersion", /^resourceVersion: Invalid value: "-1"/],
      ["/api/v1/namespaces/default/configmaps/keep?resourceVersion=1e3", "resourceVersion", /^resourceVersion: Invalid value: "1e3"/],
      ["/api/v1/namespaces/default/configmaps?labelSelector=a%20b%20c", "labelSelector", /^labelSelector: Invalid value: "a b c": /],
      ["/api/v1/namespaces/default/configmaps?fieldSelector=spec.bogus%3D1", "fieldSelector", /^fieldSelector: Invalid value: "spec.bogus=1": field label not supported: spec\.bogus$/],
      ["/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=~~", "fieldSelector", /^fieldSelector: Invalid value: "~~"/],
      ["/api/v1/namespaces/default/configmaps?timeout=abc", "timeout", /^invalid timeout specified in the request URL - time: invalid duration "abc"$/],
    ];
    for (const [target, param, message] of badInts) {
      it(`answers 400 naming ${param} for ${target.split("?")[1]}`, async () => {
        expectStatus(await send("GET", target), 400, message);
      });
    }

    it("answers 400 naming gracePeriodSeconds for a DELETE, and deletes nothing", async () => {
      expectStatus(await send("DELETE", "/api/v1/namespaces/default/configmaps/keep?gracePeriodSeconds=later"), 400, /^gracePeriodSeconds: Invalid value: "later": strconv\.ParseInt/);
      await stillUp();
    });

    it("answers 422 on ListOptions for a resourceVersionMatch that does not fit", async () => {
      const s = expectStatus(
        await send("GET", "/api/v1/namespaces/default/configmaps?resourceVersion=1&resourceVersionMatch=Sometimes"),
        422,
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""',
      );
      expect(s.details).to.deep.equal({ group: "meta.k8s.io", kind: "ListOptions", causes: [{ reason: "FieldValueNotSupported", message: 'Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""', field: "resourceVersionMatch" }] });
      expectStatus(await send("GET", "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact"), 422, /resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided/);
    });

    it("indents the answer for ?pretty=true, without the trailing newline, like kube-apiserver", async () => {
      const r = await send("GET", "/api/v1/namespaces/default/pods/x?pretty=true");
      expect(r.body).to.equal(JSON.stringify(JSON.parse(NOT_FOUND_BYTES), null, 2));
    });
  });

  describe("Status bytes", () => {
    it("writes NotFound exactly as Kubernetes does", async () => {
      const r = await send("GET", "/api/v1/namespaces/default/pods/x");
      expect(r.status).to.equal(404);
      expect(r.body).to.equal(NOT_FOUND_BYTES);
    });

    it("writes Unauthorized exactly as Kubernetes does", async () => {
      const r = await send("GET", "/api/v1/namespaces/default/pods", { token: null });
      expect(r.status).to.equal(401);
      expect(r.body).to.equal(UNAUTHORIZED_BYTES);
    });
  });

  describe("bodies", () => {
    const post = (body: string | Buffer, type: string) => send("POST", "/api/v1/namespaces/default/configmaps", { body, headers: { "Content-Type": type } });

    it("answers 413 at once when Content-Length is over 3 MiB", async () => {
      const s = await openTls(env.url, env.caPem);
      const answer = readAnswer(s);
      s.write(requestHead("POST", "/api/v1/namespaces/default/configmaps", { ...auth(), "Content-Type": "application/json", "Content-Length": String(4 * 1024 * 1024) }));
      const r = await answer;
      expectStatus(r, 413, "Request entity too large: limit is 3145728");
      expect(status(r).reason).to.equal("RequestEntityTooLarge");
      await stillUp();
    });

    it("answers 413 as soon as a streamed body passes the limit, before the client has sent it all", async () => {
      const s = await openTls(env.url, env.caPem);
      const answer = readAnswer(s);
      let answered = false;
      void answer.then(() => (answered = true), () => (answered = true));
      s.write(requestHead("POST", "/api/v1/namespaces/default/configmaps", { ...auth(), "Content-Type": "application/json", "Transfer-Encoding": "chunked" }));
      const chunk = Buffer.alloc(256 * 1024, 32);
      let sent = 0;
      const total = 64 * 1024 * 1024;
      while (!answered && sent < total && !s.destroyed) {
        s.write(`${chunk.length.toString(16)}\r\n`);
        s.write(chunk);
        const ok = s.write("\r\n");
        sent += chunk.length;
        if (!ok) await new Promise((r) => (s.once("drain", r), s.once("close", r), setTimeout(r, 200)));
      }
      const r = await answer;
      expectStatus(r, 413, "Request entity too large: limit is 3145728");
      expect(sent).to.be.lessThan(total);
      await stillUp();
    });

    it("answers 415 to a body in a format it does not read", async () => {
      expectStatus(await post("a=1", "text/plain"), 415, /^the body of the request was in an unknown format - accepted media types include: /);
      expectStatus(await send("PATCH", "/api/v1/namespaces/default/configmaps/keep", { body: "<x/>", headers: { "Content-Type": "application/xml" } }), 415, /unknown format/);
      await stillUp();
    });

    it("answers 400 to invalid JSON, YAML and protobuf, and to a body nested too deep", async () => {
      expectStatus(await post('{"metadata": {"name": "x"', "application/json"), 400, /^couldn't get version\/kind; json parse error: /);
      expectStatus(await post("metadata: [name: x\n", "application/yaml"), 400, /^error converting YAML to JSON: /);
      expectStatus(await post(Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff, 0xff, 0xff]), "application/vnd.kubernetes.protobuf"), 400, /protobuf/);
      expectStatus(await post(Buffer.from("not protobuf at all"), "application/vnd.kubernetes.protobuf"), 400, /magic number/);
      expectStatus(await post("[".repeat(200_000) + "]".repeat(200_000), "application/json"), 400, "the request body nests deeper than 1000 levels");
      await stillUp();
    });

    it("answers 400 to a body cut short when the client closes, and keeps serving", async () => {
      const s = await openTls(env.url, env.caPem);
      const answer = readAnswer(s);
      s.write(requestHead("POST", "/api/v1/namespaces/default/configmaps", { ...auth(), "Content-Type": "application/json", "Content-Length": "100" }));
      s.end('{"metadata":');
      const r = await answer.catch(() => undefined);
      if (r && r.status) expectStatus(r, 400, /cut short/);
      await stillUp();
    });

    it("answers 504 Timeout when a body never arrives within the request timeout", async () => {
      const s = await openTls(env.url, env.caPem);
      const answer = readAnswer(s);
      s.write(requestHead("POST", "/api/v1/namespaces/default/configmaps", { ...auth(), "Content-Type": "application/json", "Content-Length": "100" }));
      s.write('{"metadata":');
      const r = await answer;
      expect(r.status).to.equal(504);
      expect(r.body).to.equal(TIMEOUT_BYTES);
      expect(r.headers.connection).to.equal("close");
      await stillUp();
    });
  });

  describe("malformed patches", () => {
    const patch = (type: string, body: string) => send("PATCH", "/api/v1/namespaces/default/configmaps/keep", { body, headers: { "Content-Type": type } });
    const cases: [string, string, RegExp][] = [
      ["application/json-patch+json", "{}", /^invalid JSON patch: the body must be a list of operations, not a object$/],
      ["application/json-patch+json", "[1]", /^invalid JSON patch: operation 0 is not an object$/],
      ["application/json-patch+json", '[{"op":"frob","path":"/data"}]', /^invalid JSON patch: operation 0 has unknown op "frob"$/],
      ["application/json-patch+json", '[{"op":"add","value":1}]', /^invalid JSON patch: operation 0 \(add\) is missing "path"$/],
      ["application/json-patch+json", '[{"op":"add","path":"data/b","value":"2"}]', /must start with "\/"/],
      ["application/json-patch+json", "[{", /json parse error/],
      ["application/merge-patch+json", "[1]", /^invalid merge patch: the body must be an object, not a list$/],
      ["application/merge-patch+json", '"x"', /^invalid merge patch: the body must be an object, not a string$/],
      ["application/merge-patch+json", "null", /^the merge patch body is empty$/],
      ["application/merge-patch+json", "{", /json parse error/],
      ["application/strategic-merge-patch+json", "[1]", /^invalid strategic merge patch: the body must be an object, not a list$/],
      ["application/strategic-merge-patch+json", '{"$patch":"frob"}', /\$patch/],
      ["application/strategic-merge-patch+json", '{"data":', /json parse error/],
      ["application/apply-patch+yaml", "- a\n- b\n", /^invalid apply patch: the body must be an object, not a list$/],
      ["application/apply-patch+yaml", "metadata: [name: x\n", /^error converting YAML to JSON: /],
      ["application/apply-patch+yaml", "42", /^invalid apply patch: the body must be an object, not a number$/],
    ];
    for (const [type, body, message] of cases) {
      it(`answers 4xx naming the problem for ${type.split("/")[1]} ${JSON.stringify(body)}, and changes nothing`, async () => {
        const r = await patch(type, body);
        expect(r.status, r.body).to.be.within(400, 499);
        expect(status(r).message).to.match(message);
        await stillUp();
      });
    }
  });

  describe("watches per user", () => {
    const openWatch = async (token?: string) => {
      const s = await openTls(env.url, env.caPem);
      const head = new Promise<string>((resolve, reject) => {
        let buf = "";
        s.on("data", (c: Buffer) => {
          buf += c.toString("latin1");
          if (buf.includes("\r\n\r\n")) resolve(buf);
        });
        s.on("close", () => resolve(buf));
        s.on("error", reject);
      });
      s.write(requestHead("GET", "/api/v1/namespaces/default/configmaps?watch=true", { ...auth(token), Connection: "keep-alive" }));
      const text = await head;
      return { socket: s, text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]) };
    };

    it("answers 429 with Retry-After past the limit, per user, and frees the slot when a watch ends", async () => {
      const a = await openWatch();
      const b = await openWatch();
      expect([a.status, b.status]).to.deep.equal([200, 200]);
      const third = await send("GET", "/api/v1/namespaces/default/configmaps?watch=true");
      expect(third.status).to.equal(429);
      expect(third.headers["retry-after"]).to.equal("1");
      expect(third.body).to.equal(
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too many watches open for user \\"admin\\": the limit is 2","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}\n',
      );
      const other = await openWatch(env.tokens.view);
      expect(other.status, "another user has slots of their own").to.equal(200);
      other.socket.destroy();
      a.socket.destroy();
      await waitFor(
        async () => {
          const w = await openWatch();
          w.socket.destroy();
          return w.status === 200;
        },
        { what: "a freed watch slot" },
      );
      b.socket.destroy();
    });
  });
});

/** Reads one answer from a socket that the server closes (or that ends with a complete body). */
function readAnswer(s: TLSSocket): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const tryParse = () => {
      try {
        const a = parseResponse(Buffer.concat(chunks));
        const len = Number(a.headers["content-length"] ?? NaN);
        if (Number.isFinite(len) && Buffer.byteLength(a.body) >= len) return a;
      } catch {
        // not complete yet
      }
      return undefined;
    };
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      const a = tryParse();
      if (a) {
        resolve(a);
        s.destroy();
      }
    });
    s.on("error", () => undefined);
    s.on("close", () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
  });
}
