/**
 * Paged lists: 20,000 ConfigMaps of 1 KiB (about 24 MB, three times NATS' 8 MB max payload) list
 * whole and in pages, through the store client and over HTTP; every page is read as of the first
 * page's revision, and a continue token whose revision can no longer be read answers 410 Expired.
 */
import { expect } from "chai";
import { request } from "node:https";
import type { ConfigMap, KubeList } from "../../bus/resources.ts";
import type { ApiEnv } from "../e2e/api-server-env.ts";
import { startApiEnv } from "../e2e/api-server-env.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

const N = 20_000;
const ROOT_CA = "kube-root-ca.crt";
const KIB = "x".repeat(1024);
const name = (i: number) => `cm-${String(i).padStart(5, "0")}`;
const cm = (n: string, data: Record<string, string>): ConfigMap => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: n }, data });

describe("paged lists", function () {
  this.timeout(300_000);
  let env: ApiEnv;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${env.url}${path}`, { headers: { authorization: `Bearer ${env.tokens.admin}` }, ca: env.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.end();
    });
  const store = () => env.tc.store;
  const namespace = (n: string) => store().create("namespaces", undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: n } });

  before(async () => {
    env = await startApiEnv();
    await namespace("big");
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < N; i = next++) await store().create("configmaps", "big", cm(name(i), { v: KIB }));
      }),
    );
  });
  after(async () => {
    await env?.stop();
  });

  it("lists 20,000 ConfigMaps of 1 KiB through the store client, whole and in pages of one snapshot", async () => {
    const whole = await store().list<ConfigMap>("configmaps", "big");
    // Every namespace also holds the cluster's kube-root-ca.crt, as in Kubernetes.
    const ours = whole.items.filter((o) => o.metadata.name !== ROOT_CA);
    expect(ours).to.have.length(N);
    expect(ours[0]!.metadata.name).to.equal(name(0));
    expect(ours[N - 1]!.metadata.name).to.equal(name(N - 1));
    expect(whole.metadata.continue).to.equal(undefined);

    const seen: string[] = [];
    let token: string | undefined;
    let revision: string | undefined;
    let pages = 0;
    do {
      const page: KubeList<ConfigMap> = await store().list<ConfigMap>("configmaps", "big", { limit: 3000, ...(token ? { continue: token } : {}) });
      pages++;
      expect(page.items.length).to.be.within(1, 3000);
      revision ??= page.metadata.resourceVersion;
      expect(page.metadata.resourceVersion).to.equal(revision);
      if (page.metadata.continue) expect(page.metadata.remainingItemCount).to.equal(whole.items.length - seen.length - page.items.length);
      seen.push(...page.items.map((o) => o.metadata.name!));
      token = page.metadata.continue;
    } while (token);
    expect(pages).to.be.at.least(7);
    expect(seen).to.deep.equal(whole.items.map((o) => o.metadata.name));
  });

  it("lists them over HTTP, whole and with limit and continue", async () => {
    const whole = await get("/api/v1/namespaces/big/configmaps");
    expect(whole.status).to.equal(200);
    const list = JSON.parse(whole.body) as KubeList<ConfigMap>;
    expect(list.items.filter((o) => o.metadata.name !== ROOT_CA)).to.have.length(N);
    expect(list.items[1234]!.data).to.deep.equal({ v: KIB });

    const names: string[] = [];
    let token = "";
    do {
      const r = await get(`/api/v1/namespaces/big/configmaps?limit=4000${token ? `&continue=${encodeURIComponent(token)}` : ""}`);
      expect(r.status).to.equal(200);
      const page = JSON.parse(r.body) as KubeList<ConfigMap>;
      names.push(...page.items.map((o) => o.metadata.name!));
      token = page.metadata.continue ?? "";
    } while (token);
    expect(names).to.deep.equal(list.items.map((o) => o.metadata.name));
  });

  it("serves every page as of the first page's revision: later writes do not show", async () => {
    await namespace("snap");
    for (const n of ["c0", "c1", "c2", "c3", "c4"]) await store().create("configmaps", "snap", cm(n, { v: "1" }));
    const first = await store().list<ConfigMap>("configmaps", "snap", { limit: 2 });
    expect(first.items.map((o) => o.metadata.name)).to.deep.equal(["c0", "c1"]);
    const c3 = await store().get<ConfigMap>("configmaps", "snap", "c3");
    await store().update("configmaps", { ...c3, data: { v: "2" } });
    await store().delete("configmaps", "snap", "c2");
    await store().create("configmaps", "snap", cm("c2b", { v: "1" }));
    const rest = await store().list<ConfigMap>("configmaps", "snap", { limit: 10, continue: first.metadata.continue });
    expect(rest.items.filter((o) => o.metadata.name !== ROOT_CA).map((o) => `${o.metadata.name}=${o.data!.v}`)).to.deep.equal(["c2=1", "c3=1", "c4=1"]);
    expect(rest.metadata.resourceVersion).to.equal(first.metadata.resourceVersion);
    expect(rest.metadata.continue).to.equal(undefined);
    const now = await store().list<ConfigMap>("configmaps", "snap");
    expect(now.items.filter((o) => o.metadata.name !== ROOT_CA).map((o) => `${o.metadata.name}=${o.data!.v}`)).to.deep.equal(["c0=1", "c1=1", "c2b=1", "c3=2", "c4=1"]);
  });

  it("answers 410 Expired for a continue token whose revision can no longer be read", async () => {
    await namespace("old");
    for (const n of ["a", "b"]) await store().create("configmaps", "old", cm(n, { v: "0" }));
    const first = await store().list("configmaps", "old", { limit: 1 });
    // b's state at that revision is pushed out of its retained history.
    for (let i = 1; i <= 20; i++) await store().patch("configmaps", "old", "b", "merge", { data: { v: String(i) } });
    const e = await store().list("configmaps", "old", { limit: 1, continue: first.metadata.continue }).catch((x: FlotillaError) => x);
    expect(e).to.be.instanceOf(FlotillaError);
    expect((e as FlotillaError).code).to.equal(ErrorCode.Expired);
    const r = await get(`/api/v1/namespaces/old/configmaps?limit=1&continue=${encodeURIComponent(first.metadata.continue!)}`);
    expect(r.status).to.equal(410);
    expect(JSON.parse(r.body)).to.include({ kind: "Status", reason: "Expired", code: 410 });
  });
});
