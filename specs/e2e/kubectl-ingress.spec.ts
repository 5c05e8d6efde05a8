/**
 * The real kubectl against Ingresses and the ingress actor: `kubectl create ingress` with two
 * hosts and two paths routes to two Services, the default IngressClass is filled in and the
 * node's address appears in ADDRESS, TLS from a `kubectl create secret tls` Secret is served by
 * SNI, a default backend catches the rest, and a changed rule takes effect within a second while a
 * client keeps sending requests, none of which fails.
 */
import { expect } from "chai";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiEnv } from "./api-server-env.ts";
import { createServer, request as httpRequest, Agent } from "node:http";
import { request as httpsRequest } from "node:https";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";
import { freePort } from "../../runtime/nats-server.ts";
import { generateCa, signedByCa } from "../../actors/api-server/certs.ts";

interface Answer {
  status: number;
  body: string;
}

/** One HTTP server per Service: it answers `<name> <path>` so a test sees who served a request. */
async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const body = `${name} ${req.url}`;
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

const selectorless = (name: string, port: number) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  ports: [{port: 80, targetPort: ${port}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ${name}}
subsets:
- addresses: [{ip: 127.0.0.1}]
  ports: [{port: ${port}}]
`;

describe("kubectl with Ingresses and the ingress actor (e2e)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  let httpPort: number;
  let httpsPort: number;
  const backends: Server[] = [];
  const agent = new Agent({ keepAlive: true });
  const run = (args: string[], input?: string) => env.kubectl(args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
  const ok = async (args: string[], input?: string) => {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const get = (host: string, path: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port: httpPort, path, headers: { host }, agent }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });

  before(async () => {
    env = await startApiEnv();
    httpPort = await freePort();
    httpsPort = await freePort();
    await env.tc.startActors([{ def: ACTORS.ingress!, opts: { nodeName: "node-1", httpPort, httpsPort } }]);
    const a = await backend("svc-a");
    const b = await backend("svc-b");
    backends.push(a.server, b.server);
    await ok(["apply", "-f", "-"], `${selectorless("svc-a", a.port)}---\n${selectorless("svc-b", b.port)}`);
  });
  after(async () => {
    agent.destroy();
    for (const s of backends) s.closeAllConnections();
    await Promise.all(backends.map((s) => new Promise((r) => s.close(r))));
    await env?.stop();
  });

  it("routes two hosts and two paths of `kubectl create ingress` to two Services", async () => {
    expect(await ok(["get", "ingressclass"])).to.match(/flotilla\s+flotilla\.io\/ingress\s+<none>/);
    const out = await ok(["create", "ingress", "web", "--rule=foo.test/=svc-a:80", "--rule=foo.test/api*=svc-b:80", "--rule=bar.test/*=svc-b:80"]);
    expect(out).to.contain("ingress.networking.k8s.io/web created");
    // The default class is filled in, and the node's address appears once it serves the Ingress.
    let shown = "";
    await waitFor(async () => /web\s+flotilla\s+foo\.test,bar\.test\s+127\.0\.0\.1\s+80\s/.test((shown = await ok(["get", "ingress", "web"]))), { timeoutMs: 10_000, what: "the Ingress with its class and address" }).catch((e) => {
      throw new Error(`${String(e)}: ${shown}`);
    });

    expect(await get("foo.test", "/")).to.deep.equal({ status: 200, body: "svc-a /" });
    expect(await get("foo.test:80", "/api/v1?x=1")).to.deep.equal({ status: 200, body: "svc-b /api/v1?x=1" });
    expect(await get("foo.test", "/api")).to.deep.equal({ status: 200, body: "svc-b /api" });
    // `/` is an Exact rule: other paths of foo.test match nothing.
    expect((await get("foo.test", "/apix")).status).to.equal(404);
    expect(await get("BAR.test", "/anything/here")).to.deep.equal({ status: 200, body: "svc-b /anything/here" });
    expect(await get("other.test", "/")).to.deep.equal({ status: 404, body: "404 page not found\n" });
  });

  it("refuses an invalid Ingress with the field named", async () => {
    const r = await run(["apply", "-f", "-"], "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bad}\nspec:\n  rules:\n  - host: 10.0.0.1\n    http:\n      paths:\n      - path: api\n        pathType: Prefix\n        backend: {service: {name: svc-a, port: {number: 80}}}\n");
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address');
    expect(r.stderr).to.contain('spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path');
  });

  it("sends what no rule matches to a default backend", async () => {
    await ok(["create", "ingress", "fallback", "--default-backend=svc-a:80"]);
    await waitFor(async () => (await get("other.test", "/x")).body === "svc-a /x", { timeoutMs: 5000, what: "the default backend" });
    expect(await get("bar.test", "/y")).to.deep.equal({ status: 200, body: "svc-b /y" });
    await ok(["delete", "ingress", "fallback"]);
    await waitFor(async () => (await get("other.test", "/x")).status === 404, { timeoutMs: 5000, what: "the default backend gone" });
  });

  it("serves TLS with the certificate of the Secret an Ingress names, chosen by SNI", async () => {
    const ca = generateCa();
    const leaf = signedByCa(ca, { subject: [{ name: "commonName", value: "secure.test" }], validYears: 1, extKeyUsage: { serverAuth: true }, sans: { dns: ["secure.test"], ips: [] } });
    writeFileSync(join(env.dir, "tls.crt"), leaf.certPem);
    writeFileSync(join(env.dir, "tls.key"), leaf.keyPem);
    await ok(["create", "secret", "tls", "secure-tls", `--cert=${join(env.dir, "tls.crt")}`, `--key=${join(env.dir, "tls.key")}`]);
    await ok(["create", "ingress", "secure", "--rule=secure.test/*=svc-b:80,tls=secure-tls"]);
    expect(await ok(["get", "ingress", "secure"])).to.match(/secure\s+flotilla\s+secure\.test\s+\S*\s*80, 443\s/);
    const tlsGet = (servername: string) =>
      new Promise<Answer & { subject: string }>((resolve, reject) => {
        const req = httpsRequest({ host: "127.0.0.1", port: httpsPort, path: "/hello", servername, headers: { host: servername }, ca: ca.certPem }, (res) => {
          const subject = String((res.socket as import("node:tls").TLSSocket).getPeerCertificate().subject?.CN ?? "");
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, subject }));
        });
        req.on("error", reject);
        req.end();
      });
    const answer = await waitFor(() => tlsGet("secure.test").catch(() => undefined), { timeoutMs: 5000, what: "a verified TLS answer" });
    expect(answer).to.deep.equal({ status: 200, body: "svc-b /hello", subject: "secure.test" });
    // Another name gets the default certificate, which the cluster's CA did not sign.
    const err = await tlsGet("foo.test").then(() => undefined, (e: Error) => e);
    expect(String(err)).to.match(/self[- ]signed|unable to verify|DEPTH_ZERO/i);
  });

  it("applies a changed rule within a second, failing no request of a client that keeps sending", async () => {
    const answers: Answer[] = [];
    const errors: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          answers.push(await get("foo.test", "/"));
        } catch (e) {
          errors.push(String(e));
        }
      }
    })();
    await waitFor(() => answers.length > 20, { timeoutMs: 5000, what: "the client loop running" });
    expect(answers.every((a) => a.body === "svc-a /")).to.equal(true);
    await ok(["patch", "ingress", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/rules/0/http/paths/0/backend/service/name","value":"svc-b"}]']);
    const changedAt = Date.now();
    const from = answers.length;
    await waitFor(() => answers.slice(from).some((a) => a.body === "svc-b /"), { timeoutMs: 5000, what: "the new backend answering" });
    const tookMs = Date.now() - changedAt;
    // Keep going a little past the change, then stop.
    const after = answers.length;
    await waitFor(() => answers.length > after + 20, { timeoutMs: 5000, what: "requests after the change" });
    running = false;
    await loop;
    expect(errors).to.deep.equal([]);
    expect(answers.filter((a) => a.status !== 200)).to.deep.equal([]);
    expect(tookMs).to.be.below(1000);
    expect(answers.slice(after).every((a) => a.body === "svc-b /")).to.equal(true);
  });
});
