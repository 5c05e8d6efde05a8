/**
 * Reading manifests for `apply -f` / `create -f` / `delete -f`: files, directories (*.yaml, *.yml,
 * *.json, not recursive), multi-document YAML, `List` objects and stdin (`-f -`). Every document
 * keeps its file and index so an error can name them.
 */
import type { KubeObject } from "../bus/resources.ts";
import type { ResourceType } from "../bus/kinds.ts";
import type { Status } from "./http.ts";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { resourceForKind } from "../bus/kinds.ts";
import { CliError } from "./errors.ts";

export interface Manifest {
  source: string;
  /** 0-based index of the YAML document in its file. */
  index: number;
  object: KubeObject;
  rt: ResourceType;
}

/** Parses one file's text into manifests; a problem names the file, document and field. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = parseAllDocuments(text);
  docs.forEach((doc, index) => {
    if (doc.errors.length) throw new CliError(`${source}: document ${index}: invalid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    const items = isList(value) ? value.items : [value];
    for (const item of items) out.push(checkObject(item, source, index));
  });
  return out;
}

function isList(v: unknown): v is { kind: string; items: unknown[] } {
  return typeof v === "object" && v !== null && (v as { kind?: string }).kind?.endsWith("List") === true && Array.isArray((v as { items?: unknown }).items);
}

function checkObject(v: unknown, source: string, index: number): Manifest {
  const where = `${source}: document ${index}`;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CliError(`${where}: not an object`);
  const o = v as KubeObject;
  if (!o.apiVersion) throw new CliError(`${where}: field apiVersion: Required value`);
  if (!o.kind) throw new CliError(`${where}: field kind: Required value`);
  const rt = resourceForKind(o.kind);
  if (!rt) throw new CliError(`${where}: field kind: no resource type for kind "${o.kind}" in ${o.apiVersion}`);
  const want = rt.group ? `${rt.group}/${rt.version}` : rt.version;
  if (o.apiVersion !== want) throw new CliError(`${where}: field apiVersion: kind ${o.kind} is served as ${want}, not ${o.apiVersion}`);
  if (!o.metadata?.name && !o.metadata?.generateName) throw new CliError(`${where}: field metadata.name: Required value`);
  return { source, index, object: o, rt };
}

/** `-f` arguments → manifests, in order. `readStdin` is called for `-`. */
export function readManifests(paths: string[], readStdin: () => string): Manifest[] {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === "-") {
      out.push(...parseManifests(readStdin(), "<stdin>"));
      continue;
    }
    if (!existsSync(p)) throw new CliError(`the path "${p}" does not exist`);
    if (statSync(p).isDirectory()) {
      const files = readdirSync(p).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
      for (const f of files) out.push(...parseManifests(readFileSync(join(p, f), "utf8"), join(p, f)));
    } else out.push(...parseManifests(readFileSync(p, "utf8"), p));
  }
  if (out.length === 0) throw new CliError(`no objects passed to apply (${paths.join(", ")})`);
  return out;
}

/** A server rejection of a manifest, as one line per cause: file, document index and field. */
export function manifestError(m: Manifest, status: Status): string {
  const where = `${m.source}: document ${m.index} (${m.object.kind} ${m.object.metadata?.name ?? m.object.metadata?.generateName ?? ""})`;
  const causes = status.details?.causes ?? [];
  if (causes.length === 0) return `${where}: ${status.message ?? status.reason ?? "rejected"}`;
  return causes.map((c) => `${where}: field ${c.field ?? "?"}: ${c.message ?? c.reason ?? ""}`).join("\n");
}
