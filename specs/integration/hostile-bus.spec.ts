/**
 * Hostile messages on the bus: every served subject answers a malformed message with a typed
 * error and changes nothing; a malformed log frame ends that one log stream and nothing else.
 */
import { expect } from "chai";
import { request as httpsRequest } from "node:https";
import type { Subscription } from "@nats-io/transport-node";
import type { ApiEnv } from "../e2e/api-server-env.ts";
import type { ConfigMap, Pod } from "../../bus/resources.ts";
import type { Host } from "../../runtime/host.ts";
import { startApiEnv } from "../e2e/api-server-env.ts";
import { subjects } from "../../bus/subjects.ts";
import { encode, decode } from "../../bus/codec.ts";
import { requestMsg } from "../../bus/request.ts";
import { kubelet } from "../../actors/kubelet/index.ts";
import { waitFor } from "../harness/cluster.ts";

const FAKE_NODE = "fake-node";
const REAL_NODE = "sim-node";

describe("hostile messages on the bus", function () {
  this.timeout(30_000);
  let env: ApiEnv;
  let fake: Subscription;
  let kubeletHost: Host;
  const s = () => subjects(env.tc.cluster);
  const raw = async (subject: string, data: Uint8Array | string): Promise<unknown> => {
    const m = await requestMsg(env.tc.nc, subject, typeof data === "string" ? new TextEncoder().encode(data) : data, 5000);
    return decode(m.data);
  };
  const get = (path: string): Promise<{ status: number; body: string; aborted: boolean }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(env.url + path, { ca: env.caPem, headers: { Authorization: `Bearer ${env.tokens.admin}` }, timeout: 15_000 }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, aborted: false }));
        res.on("aborted", () => resolve({ status: res.statusCode ?? 0, body, aborted: true }));
        res.on("error", () => resolve({ status: res.statusCode ?? 0, body, aborted: true }));
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${path} got no answer`)));
      req.on("error", reject);
      req.end();
    });

  before(async () => {
    env = await startApiEnv();
    // A fake kubelet whose log frames are chosen by the container name the request asks for.
    fake = env.tc.nc.subscribe(s().nodeVerb(FAKE_NODE, "logs"), {
      callback: (_e, m) => {
        const container = (decode(m.data) as { container?: string }).container;
        const send = (v: unknown) => env.tc.nc.publish(m.reply!, typeof v === "string" ? new TextEncoder().encode(v) : encode(v));
        if (container === "null-frame") send(null);
        else if (container === "not-json") send("{{{");
        else if (container === "bad-error") send({ type: "error", error: "boom" });
        else if (container === "bad-later") {
          send({ type: "data", data: "first line\n" });
          send({ type: "data", data: 5 });
        } else {
          send({ type: "data", data: "fine\n" });
          send({ type: "end" });
        }
      },
    });
    kubeletHost = await env.tc.startActors([{ def: kubelet, opts: { nodeName: REAL_NODE, engine: "simulated" } }]);
    const containers = ["null-frame", "not-json", "bad-error", "bad-later", "good"].map((name) => ({ name, image: "busybox" }));
    await env.tc.store.create("pods", "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "logs" }, spec: { nodeName: FAKE_NODE, containers } } as Pod);
    await env.tc.store.create("configmaps", "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "target" }, data: { a: "1" } } as ConfigMap);
  });
  after(async () => {
    fake?.unsubscribe();
    await kubeletHost?.stop();
    await env?.stop();
  });

  for (const container of ["null-frame", "not-json", "bad-error"]) {
    it(`answers a log request whose first frame is malformed (${container}) with a Status, and keeps serving`, async () => {
      const r = await get(`/api/v1/namespaces/default/pods/logs/log?container=${container}`);
      expect(r.status).to.equal(500);
      const status = JSON.parse(r.body) as { kind: string; message: string };
      expect(status.kind).to.equal("Status");
      expect(status.message).to.include("malformed log frame");
      const good = await get("/api/v1/namespaces/default/pods/logs/log?container=good");
      expect(good).to.deep.equal({ status: 200, body: "fine\n", aborted: false });
    });
  }

  it("cuts a log stream whose later frame is malformed, and only that stream", async () => {
    const [bad, good] = await Promise.all([get("/api/v1/namespaces/default/pods/logs/log?container=bad-later"), get("/api/v1/namespaces/default/pods/logs/log?container=good")]);
    expect(bad.status).to.equal(200);
    expect(bad.body).to.equal("first line\n");
    expect(bad.aborted).to.equal(true);
    expect(good).to.deep.equal({ status: 200, body: "fine\n", aborted: false });
    expect((await get("/healthz")).status).to.equal(200);
  });

  it("answers malformed store requests with Invalid and writes nothing", async () => {
    const before = await env.tc.store.get("configmaps", "default", "target");
    const hostile: [string, string][] = [
      ["create", "not json"],
      ["create", "null"],
      ["create", "[]"],
      ["create", JSON.stringify({ type: "create", resource: 5, object: {} })],
      ["create", JSON.stringify({ type: "get", resource: "configmaps", name: "target", namespace: "default" })],
      ["list", JSON.stringify({ type: "list", resource: "configmaps", labelSelector: 7 })],
      ["list", JSON.stringify({ type: "list", resource: "configmaps", limit: "ten" })],
      ["delete", JSON.stringify({ type: "delete", resource: "configmaps", namespace: "default", name: "target", options: { gracePeriodSeconds: "now" } })],
      ["patch", JSON.stringify({ type: "patch", resource: "configmaps", namespace: "default", name: "target", patchType: "weird", patch: {} })],
      ["patch", '{"type":"patch","resource":"configmaps","namespace":"default","name":"target","patchType":"merge","patch":{"__proto__":{"polluted":"yes"}}}'],
      ["update", '{"type":"update","resource":"configmaps","namespace":"default","name":"target","object":{"__proto__":{"polluted":"yes"},"metadata":{"name":"target"}}}'],
      ["create", `{"type":"create","resource":"configmaps","namespace":"default","object":${"[".repeat(5000)}${"]".repeat(5000)}}`],
    ];
    for (const [verb, payload] of hostile) {
      const r = (await raw(s().store(verb as "create"), payload)) as { ok: boolean; error?: { code: string } };
      expect(r.ok, `${verb} ${payload.slice(0, 80)}`).to.equal(false);
      expect(r.error!.code, `${verb} ${payload.slice(0, 80)}`).to.equal("Invalid");
    }
    const huge = (await raw(s().store("create"), new Uint8Array(5 * 1024 * 1024).fill(32))) as { ok: boolean; error?: { code: string } };
    expect(huge.error?.code).to.equal("RequestEntityTooLarge");
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(await env.tc.store.get("configmaps", "default", "target")).to.deep.equal(before);
  });

  it("answers NotFound for names no stored object can have, without touching KV", async () => {
    for (const name of ["*", ">", "a b", "pods.>", "UPPER"]) {
      const r = (await raw(s().store("get"), JSON.stringify({ type: "get", resource: "configmaps", namespace: "default", name }))) as { ok: boolean; error?: { code: string } };
      expect(r.error?.code, name).to.equal("NotFound");
    }
    const r = (await raw(s().store("list"), JSON.stringify({ type: "list", resource: "configmaps", namespace: "*" }))) as { ok: boolean; error?: { code: string } };
    expect(r.error?.code).to.equal("NotFound");
  });

  it("answers malformed kubelet requests with typed errors on logs and stats", async () => {
    await waitFor(async () => ((await raw(s().nodeVerb(REAL_NODE, "stats"), JSON.stringify({ type: "stats" }))) as { ok: boolean }).ok, { what: "the kubelet" });
    const logs: unknown[] = [
      "nope",
      JSON.stringify({ type: "logs", namespace: "default", pod: "logs", tailLines: "all" }),
      JSON.stringify({ type: "logs", namespace: "default", pod: "logs", maxSeconds: 1e12 }),
      JSON.stringify({ type: "logs", namespace: {}, pod: "logs" }),
      JSON.stringify({ type: "stats" }),
    ];
    for (const payload of logs) {
      const r = (await raw(s().nodeVerb(REAL_NODE, "logs"), payload as string)) as { type: string; ok: boolean; error: { code: string } };
      expect(r.type, String(payload)).to.equal("error");
      expect(r.ok, String(payload)).to.equal(false);
      expect(r.error.code, String(payload)).to.equal("Invalid");
    }
    const stats = (await raw(s().nodeVerb(REAL_NODE, "stats"), "[1,2")) as { ok: boolean; error: { code: string } };
    expect(stats).to.deep.include({ ok: false });
    expect(stats.error.code).to.equal("Invalid");
  });

  it("answers a ping with a payload other than {} with Invalid, and still answers real pings", async () => {
    const r = (await raw(s().actorsPing(), "garbage")) as { ok: boolean; error: { code: string } };
    expect(r.ok).to.equal(false);
    expect(r.error.code).to.equal("Invalid");
    const p = (await raw(s().actorsPing(), new Uint8Array())) as { kind: string };
    expect(p.kind).to.be.a("string");
  });
});
