/**
 * `apply -f`, `create -f`, `delete`, `scale`. Apply is server-side apply (the api-server's
 * `application/apply-patch+yaml`, field manager `flotilla`, forced): it creates what is absent and
 * merges the manifest into what exists.
 */
import type { Command } from "commander";
import type { KubeObject } from "../bus/resources.ts";
import type { ApiClient } from "./http.ts";
import type { Manifest } from "./manifests.ts";
import { readFileSync } from "node:fs";
import { apiOptions, apiFrom, namespaceOf, parseTargets, typeLabel, type ApiFlags } from "./context.ts";
import { pathFor, ApiError } from "./http.ts";
import { readManifests, manifestError } from "./manifests.ts";
import { CliError } from "./errors.ts";

interface FileFlags extends ApiFlags {
  filename?: string[];
}

const out = (s: string) => process.stdout.write(s + "\n");
const collect = (v: string, prev: string[] = []) => [...prev, v];

function namespaceFor(api: ApiClient, f: ApiFlags, m: Manifest): string | undefined {
  if (!m.rt.namespaced) return undefined;
  const own = m.object.metadata.namespace;
  const flag = f.namespace;
  if (own && flag && own !== flag) throw new CliError(`${m.source}: document ${m.index}: the namespace from the manifest ("${own}") does not match the namespace "${flag}"`);
  return own ?? flag ?? api.namespace;
}

async function each(f: FileFlags, fn: (api: ApiClient, m: Manifest, ns: string | undefined) => Promise<string>): Promise<void> {
  if (!f.filename?.length) throw new CliError("must specify -f (a file, a directory or - for stdin)");
  const api = apiFrom(f);
  const manifests = readManifests(f.filename, () => readFileSync(0, "utf8"));
  let failed = 0;
  for (const m of manifests) {
    try {
      out(await fn(api, m, namespaceFor(api, f, m)));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      failed++;
      process.stderr.write(`error: ${manifestError(m, e.body)}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

/** Server-side apply of one manifest: "created" when it was absent, else "configured". */
export async function applyManifest(api: ApiClient, m: Manifest, ns: string | undefined): Promise<string> {
  const obj = { ...m.object, metadata: { ...m.object.metadata, ...(ns ? { namespace: ns } : {}) } };
  const r = await api.send<KubeObject>("PATCH", pathFor(m.rt, { namespace: ns, name: obj.metadata.name }), {
    body: obj,
    contentType: "application/apply-patch+yaml",
    query: { fieldManager: "flotilla", force: true, fieldValidation: "Strict" },
  });
  return `${typeLabel(m.rt)}/${obj.metadata.name} ${r.status === 201 ? "created" : "configured"}`;
}

export function registerApply(program: Command): void {
  apiOptions(
    program
      .command("apply")
      .description("create or update resources from files, directories or stdin (server-side apply)")
      .option("-f, --filename <path>", "file, directory or - (stdin); repeatable", collect),
  ).action((f: FileFlags) => each(f, applyManifest));

  apiOptions(
    program
      .command("create")
      .description("create resources from files, directories or stdin")
      .option("-f, --filename <path>", "file, directory or - (stdin); repeatable", collect),
  ).action((f: FileFlags) =>
    each(f, async (api, m, ns) => {
      const obj = { ...m.object, metadata: { ...m.object.metadata, ...(ns ? { namespace: ns } : {}) } };
      const created = await api.request<KubeObject>("POST", pathFor(m.rt, { namespace: ns }), { body: obj, query: { fieldValidation: "Strict" } });
      return `${typeLabel(m.rt)}/${created.metadata.name} created`;
    }),
  );

  apiOptions(
    program
      .command("delete")
      .description("delete resources by TYPE NAME…, TYPE/NAME… or -f")
      .argument("[args...]", "TYPE NAME… | TYPE/NAME…")
      .option("-f, --filename <path>", "file, directory or - (stdin); repeatable", collect)
      .option("-l, --selector <selector>", "delete every object of the type matching the label selector")
      .option("--ignore-not-found", "treat a missing object as deleted")
      .option("--wait", "wait until the objects are gone"),
  ).action(async (args: string[], f: FileFlags & { selector?: string; ignoreNotFound?: boolean; wait?: boolean }) => {
    const api = apiFrom(f);
    const del = async (rt: Manifest["rt"], ns: string | undefined, name: string) => {
      try {
        await api.request("DELETE", pathFor(rt, { namespace: ns, name }), { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" } });
        out(`${typeLabel(rt)} "${name}" deleted`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && f.ignoreNotFound) return;
        throw e;
      }
      if (f.wait) {
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const gone = await api.get(pathFor(rt, { namespace: ns, name })).then(() => false, (e: unknown) => e instanceof ApiError && e.status === 404);
          if (gone) return;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };
    if (f.filename?.length) {
      for (const m of readManifests(f.filename, () => readFileSync(0, "utf8"))) await del(m.rt, namespaceFor(api, f, m), m.object.metadata.name!);
      return;
    }
    const ns = namespaceOf(api, f);
    for (const t of parseTargets(args)) {
      let names = t.names;
      if (names.length === 0) {
        if (!f.selector) throw new CliError(`resource(s) were provided, but no name was specified (use a name, -l, or -f)`);
        const list = await api.get<{ items: KubeObject[] }>(pathFor(t.rt, { namespace: ns }), { query: { labelSelector: f.selector } });
        names = list.items.map((o) => o.metadata.name!);
      }
      for (const n of names) await del(t.rt, ns, n);
    }
  });

  apiOptions(
    program
      .command("scale")
      .description("set the replicas of a Deployment, ReplicaSet or ReplicationController")
      .argument("<args...>", "TYPE NAME | TYPE/NAME")
      .requiredOption("--replicas <n>", "the new number of replicas"),
  ).action(async (args: string[], f: ApiFlags & { replicas: string }) => {
    const replicas = Number(f.replicas);
    if (!Number.isInteger(replicas) || replicas < 0) throw new CliError(`--replicas must be a non-negative integer, got "${f.replicas}"`);
    const api = apiFrom(f);
    const ns = namespaceOf(api, f);
    for (const t of parseTargets(args)) {
      if (!t.rt.subresources.includes("scale")) throw new CliError(`${t.rt.resource} cannot be scaled`);
      for (const name of t.names) {
        await api.request("PATCH", pathFor(t.rt, { namespace: ns, name, subresource: "scale" }), {
          body: { spec: { replicas } },
          contentType: "application/merge-patch+json",
        });
        out(`${typeLabel(t.rt)}/${name} scaled`);
      }
    }
  });
}
