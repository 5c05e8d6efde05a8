/** The api-server's HTTP edges over real HTTPS, with nats-server + store behind it. */
import { expect } from "chai";
import { request } from "node:https";
import type { ApiEnv } from "../e2e/api-server-env.ts";
import { startApiEnv } from "../e2e/api-server-env.ts";
import { waitFor } from "../harness/cluster.ts";
import { kubelet } from "../../actors/kubelet/index.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe("api-server over HTTPS", function () {
  this.timeout(30_000);
  let env: ApiEnv;
  const call = (method: string, path: string, o: { body?: string | Buffer; type?: string; token?: string | null; accept?: string } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (o.token !== null) headers.authorization = `Bearer ${o.token ?? env.tokens.admin}`;
      if (o.type) headers["content-type"] = o.type;
      if (o.accept) headers.accept = o.accept;
      const req = request(`${env.url}${path}`, { method, headers, ca: env.caPem }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end(o.body);
    });
  /** Opens a watch and collects its lines until stopped. */
  const watch = (path: string) => {
    const lines: string[] = [];
    let ended = false;
    const req = request(`${env.url}${path}`, { headers: { authorization: `Bearer ${env.tokens.admin}` }, ca: env.caPem }, (res) => {
      let buf = "";
      res.on("data", (c) => {
        buf += c;
        const parts = buf.split("\n");
        buf = parts.pop()!;
        lines.push(...parts.filter((l) => l !== ""));
      });
      res.on("end", () => (ended = true));
      res.on("error", () => (ended = true));
    });
    req.on("error", () => (ended = true));
    req.end();
    return { lines, ended: () => ended, stop: () => req.destroy() };
  };
  const cm = (name: string) => JSON.stringify({ metadata: { name }, data: { a: "1" } });

  before(async () => {
    env = await startApiEnv();
  });
  after(async () => {
    await env?.stop();
  });

  it("answers health and version without a token, and 401 elsewhere", async () => {
    expect((await call("GET", "/healthz", { token: null })).status).to.equal(200);
    expect((await call("GET", "/version", { token: null })).status).to.equal(200);
    const r = await call("GET", "/api/v1/namespaces", { token: null });
    expect(r.status).to.equal(401);
    expect(JSON.parse(r.body)).to.include({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  it("creates from a body without apiVersion/kind and refuses a namespace that differs from the URL", async () => {
    const ok = await call("POST", "/api/v1/namespaces/default/configmaps", { body: cm("c1"), type: "application/json" });
    expect(ok.status).to.equal(201);
    expect(JSON.parse(ok.body)).to.include({ apiVersion: "v1", kind: "ConfigMap" });
    const bad = await call("POST", "/api/v1/namespaces/default/configmaps", { body: JSON.stringify({ metadata: { name: "c2", namespace: "kube-system" } }), type: "application/json" });
    expect(bad.status).to.equal(400);
  });

  it("honours dryRun=All and generateName", async () => {
    const dry = await call("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", { body: cm("dry"), type: "application/json" });
    expect(dry.status).to.equal(201);
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/dry")).status).to.equal(404);
    const gen = await call("POST", "/api/v1/namespaces/default/configmaps", { body: JSON.stringify({ metadata: { generateName: "gen-" } }), type: "application/json" });
    expect(JSON.parse(gen.body).metadata.name).to.match(/^gen-.+/);
  });

  it("answers 400 to malformed JSON, 415 to an unknown patch type and 413 to a body over 3 MiB", async () => {
    expect((await call("POST", "/api/v1/namespaces/default/configmaps", { body: "{nope", type: "application/json" })).status).to.equal(400);
    expect((await call("PATCH", "/api/v1/namespaces/default/configmaps/c1", { body: "{}", type: "text/plain" })).status).to.equal(415);
    const big = await call("POST", "/api/v1/namespaces/default/configmaps", { body: Buffer.alloc(3 * 1024 * 1024 + 10, 32), type: "application/json" });
    expect(big.status).to.equal(413);
  });

  it("pages a list with limit and continue", async () => {
    for (const n of ["p1", "p2", "p3"]) await call("POST", "/api/v1/namespaces/default/configmaps", { body: cm(n), type: "application/json" });
    const first = JSON.parse((await call("GET", "/api/v1/namespaces/default/configmaps?limit=2")).body);
    expect(first.items).to.have.length(2);
    expect(first.metadata.continue).to.be.a("string");
    const rest = JSON.parse((await call("GET", `/api/v1/namespaces/default/configmaps?limit=50&continue=${encodeURIComponent(first.metadata.continue)}`)).body);
    expect(rest.items.length).to.be.greaterThan(0);
  });

  it("resumes a watch from a list's resourceVersion with only the changes after it", async () => {
    const list = JSON.parse((await call("GET", "/api/v1/namespaces/default/configmaps")).body);
    const w = watch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true`);
    try {
      await call("POST", "/api/v1/namespaces/default/configmaps", { body: cm("watched"), type: "application/json" });
      await call("DELETE", "/api/v1/namespaces/default/configmaps/watched");
      await waitFor(() => w.lines.length >= 2, { what: "two events" });
      const evs = w.lines.map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
      expect(evs.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(["ADDED watched", "DELETED watched"]);
    } finally {
      w.stop();
    }
  });

  it("sends 410 Expired for a too-old resourceVersion and closes the stream", async () => {
    const w = watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1");
    await waitFor(() => w.ended(), { what: "the stream to close" });
    const ev = JSON.parse(w.lines[0]!);
    expect(ev.type).to.equal("ERROR");
    expect(ev.object).to.include({ kind: "Status", reason: "Expired", code: 410 });
    expect(ev.object.message).to.match(/^too old resource version: 1 \(\d+\)$/);
  });

  it("answers 400 for the log of an unbound pod and 503 when no kubelet answers", async () => {
    const pod = (name: string, node?: string) => JSON.stringify({ metadata: { name }, spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: "c", image: "busybox" }] } });
    await call("POST", "/api/v1/namespaces/default/pods", { body: pod("unbound"), type: "application/json" });
    await call("POST", "/api/v1/namespaces/default/pods", { body: pod("bound", "ghost"), type: "application/json" });
    const unbound = await call("GET", "/api/v1/namespaces/default/pods/unbound/log");
    expect(unbound.status).to.equal(400);
    expect(JSON.parse(unbound.body).message).to.equal("pod unbound does not have a host assigned");
    const bound = await call("GET", "/api/v1/namespaces/default/pods/bound/log");
    expect(bound.status).to.equal(503);
    expect(JSON.parse(bound.body).message).to.contain("no kubelet answers for node ghost");
  });

  it("streams a pod's log from its kubelet, with tailLines and follow", async () => {
    await env.tc.startActors([{ def: kubelet, opts: { nodeName: "k1", engine: "process", dataDir: env.dir } }]);
    const script = "echo one; echo two; echo three; sleep 0.5; echo later; sleep 30";
    const body = JSON.stringify({ metadata: { name: "talker" }, spec: { nodeName: "k1", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", script] }] } });
    expect((await call("POST", "/api/v1/namespaces/default/pods", { body, type: "application/json" })).status).to.equal(201);
    const log = await waitFor(async () => {
      const r = await call("GET", "/api/v1/namespaces/default/pods/talker/log");
      return r.status === 200 && r.body.includes("later") ? r : undefined;
    }, { what: "the pod's log", timeoutMs: 15_000 });
    expect(log.headers["content-type"]).to.match(/^text\/plain/);
    expect(log.body).to.equal("one\ntwo\nthree\nlater\n");
    expect((await call("GET", "/api/v1/namespaces/default/pods/talker/log?tailLines=1")).body).to.equal("later\n");
    const f = watch("/api/v1/namespaces/default/pods/talker/log?follow=true&container=c");
    try {
      await waitFor(() => f.lines.includes("later"), { what: "followed lines" });
      expect(f.ended()).to.equal(false);
    } finally {
      f.stop();
    }
  });

  it("lists the running actors", async () => {
    const r = JSON.parse((await call("GET", "/flotilla/v1/actors")).body) as { items: { kind: string }[] };
    expect(r.items.map((i) => i.kind)).to.include.members(["store", "api-server"]);
  });

  it("forbids writes to the view token and allows its reads", async () => {
    expect((await call("GET", "/api/v1/namespaces/default/configmaps", { token: env.tokens.view })).status).to.equal(200);
    const w = await call("DELETE", "/api/v1/namespaces/default/configmaps/c1", { token: env.tokens.view });
    expect(w.status).to.equal(403);
    expect(JSON.parse(w.body).reason).to.equal("Forbidden");
  });
});
