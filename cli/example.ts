/**
 * `flotilla up --example` (what `npm start` runs): applies examples/web-app.yaml, waits for both
 * rollouts, checks the web Service answers and that a web pod reaches the backend through the
 * backend Service (`/cgi-bin/backend` shows the backend's page), and only then prints the addresses
 * to curl. When the web pods cannot reach the backend in time it fails with their last answer.
 */
import type { RunningCluster } from "./up.ts";
import type { Service } from "../bus/resources.ts";
import { get as httpGet } from "node:http";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resourceType } from "../bus/kinds.ts";
import { ApiClient, pathFor } from "./http.ts";
import { parseManifests } from "./manifests.ts";
import { applyManifest } from "./cmd-apply.ts";
import { waitRollout } from "./cmd-rollout.ts";
import { CliError } from "./errors.ts";

export const EXAMPLE_FILE = fileURLToPath(new URL("../examples/web-app.yaml", import.meta.url));

/** GET http://host:port/path with a short timeout: the status and body. */
export function httpText(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Retries a GET until it answers 200 or the deadline passes. */
export function getUntilOk(url: string, deadlineMs: number): Promise<string> {
  return getUntil(url, () => true, deadlineMs, "an answer");
}

/** What the backend's page says (examples/web-app.yaml); the web pod's CGI passes it through. */
export const BACKEND_ANSWER = /hello from backend/;

/**
 * Retries a GET until the body passes `ok` or the deadline passes; then fails with the last answer
 * (a status, an error or the body that did not pass).
 */
export async function getUntil(url: string, ok: (body: string) => boolean, deadlineMs: number, what = "the expected answer"): Promise<string> {
  let last = "";
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const r = await httpText(url);
      if (r.status === 200 && ok(r.body)) return r.body;
      last = r.status === 200 ? r.body.trim() : `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() >= deadline) throw new CliError(`${url} did not give ${what} in ${Math.round(deadlineMs / 1000)} s; last answer: ${last || "(empty)"}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface ExampleOptions {
  file?: string;
  print?: (s: string) => void;
  /** How long the web pods get to reach the backend (default 60 s). */
  backendTimeoutMs?: number;
}

export async function applyExample(c: Pick<RunningCluster, "kubeconfig">, o: ExampleOptions = {}): Promise<{ url: string; nodePortUrl?: string; backend: string }> {
  const say = o.print ?? ((s: string) => process.stdout.write(s + "\n"));
  const file = o.file ?? EXAMPLE_FILE;
  const api = ApiClient.fromKubeconfig(c.kubeconfig);
  const ns = api.namespace;
  say("");
  say(`• applying ${file}`);
  for (const m of parseManifests(readFileSync(file, "utf8"), file)) say(`  ${await applyManifest(api, m, m.rt.namespaced ? (m.object.metadata.namespace ?? ns) : undefined)}`);
  for (const name of ["backend", "web"]) {
    const v = await waitRollout(api, ns, name, { timeoutMs: 180_000, print: (s) => say(`  ${s}`) });
    if (v.failed) throw new CliError(v.message);
  }
  const svc = await api.get<Service>(pathFor(resourceType("services")!, { namespace: ns, name: "web" }));
  const port = svc.spec?.ports?.[0];
  const url = `http://${svc.spec?.clusterIP}:${port?.port}/`;
  const nodePortUrl = port?.nodePort ? `http://127.0.0.1:${port.nodePort}/` : undefined;
  const body = await getUntilOk(url, 30_000);
  say(`• ${url} answers: ${body.replace(/<[^>]+>/g, "").split("\n").find((l) => l.trim()) ?? ""}`);
  const backend = (await getUntil(`${url}cgi-bin/backend`, (b) => BACKEND_ANSWER.test(b), o.backendTimeoutMs ?? 60_000, "the backend's page (web → backend Service → backend)")).trim();
  say(`• ${url}cgi-bin/backend answers: ${backend}`);
  say("");
  say("The example app is up. Try:");
  say(`  curl ${url}`);
  say(`  curl ${url}cgi-bin/backend`);
  if (nodePortUrl) say(`  curl ${nodePortUrl}          (the NodePort)`);
  say("  flotilla get pods -o wide");
  say("  flotilla logs deployment/web");
  return { url, nodePortUrl, backend };
}
