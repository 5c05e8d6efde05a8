/**
 * What a configMap, secret, downwardAPI or projected volume holds: a pure function from the pod,
 * the volume and the objects it references to the files (relative path → bytes and mode), as
 * Kubernetes' volume plugins compute them before the atomic writer puts them on disk.
 *
 * @example
 *   volumePayload(pod, { name: "cfg", configMap: { name: "web" } }, lookups, ctx)
 *   // Map { "index.html" => { data: <Buffer …>, mode: 0o644 } }
 */
import type { Pod, Volume, ConfigMap, Secret, Container } from "../../../bus/resources.ts";
import type { EnvContext } from "../env.ts";
import { ConfigError, fieldValue, secretData } from "../env.ts";
import { milliCpu, units } from "../../../bus/quantity.ts";

export interface FileEntry {
  data: Buffer;
  mode: number;
}
/** Relative path (may contain `/`) → content. */
export type Payload = Map<string, FileEntry>;

export interface VolumeLookups {
  configMap(name: string): ConfigMap | undefined;
  secret(name: string): Secret | undefined;
  /** The token fetched for a projected `serviceAccountToken` source (undefined: none to give). */
  serviceAccountToken?(src: ServiceAccountTokenSource): string | undefined;
}

export interface ServiceAccountTokenSource {
  path: string;
  expirationSeconds?: number;
  audience?: string;
}

/** The key a fetched token is looked up by. */
export const tokenSourceKey = (src: ServiceAccountTokenSource) => `${src.audience ?? ""}/${src.expirationSeconds ?? ""}`;

/** The projected `serviceAccountToken` sources of a volume. */
export function tokenSources(v: Volume): ServiceAccountTokenSource[] {
  return ((v.projected as { sources?: ProjectedSource[] } | undefined)?.sources ?? []).flatMap((s) => (s.serviceAccountToken ? [s.serviceAccountToken] : []));
}

/** Kubernetes' default file mode for configMap, secret, downwardAPI and projected volumes. */
export const DEFAULT_MODE = 0o644;

type KeyToPath = { key: string; path: string; mode?: number };
type DownwardItem = {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
  mode?: number;
};
interface KeyedSource {
  name?: string;
  secretName?: string;
  items?: KeyToPath[];
  optional?: boolean;
  defaultMode?: number;
}
interface ProjectedSource {
  configMap?: KeyedSource;
  secret?: KeyedSource;
  downwardAPI?: { items?: DownwardItem[] };
  serviceAccountToken?: ServiceAccountTokenSource;
}

/** The kinds of volume whose content the kubelet writes (the others are directories or host paths). */
export function isProjectedKind(v: Volume): boolean {
  return !!(v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** The ConfigMaps and Secrets a volume reads (for fetching and for following their updates). */
export function volumeRefs(v: Volume): { configMaps: string[]; secrets: string[] } {
  const configMaps: string[] = [];
  const secrets: string[] = [];
  if (v.configMap?.name) configMaps.push(v.configMap.name);
  if (v.secret?.secretName) secrets.push(v.secret.secretName);
  for (const s of ((v.projected as { sources?: ProjectedSource[] } | undefined)?.sources ?? [])) {
    if (s.configMap?.name) configMaps.push(s.configMap.name);
    if (s.secret?.name) secrets.push(s.secret.name);
  }
  return { configMaps, secrets };
}

function keyed(kind: "configmap" | "secret", name: string, data: Record<string, Buffer> | undefined, src: KeyedSource, mode: number, out: Payload): void {
  if (!data) {
    if (src.optional) return;
    throw new ConfigError(`${kind} "${name}" not found`);
  }
  if (!src.items?.length) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode });
    return;
  }
  for (const it of src.items) {
    const v = data[it.key];
    if (v === undefined) {
      if (src.optional) continue;
      throw new ConfigError(`configmap references non-existent config key: ${it.key}`.replace("configmap", kind));
    }
    out.set(it.path, { data: v, mode: it.mode ?? mode });
  }
}

const configMapData = (cm: ConfigMap | undefined): Record<string, Buffer> | undefined => {
  if (!cm) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v, "utf8");
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, "base64");
  return out;
};
const secretBytes = (s: Secret | undefined): Record<string, Buffer> | undefined => {
  if (!s) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, "base64");
  for (const [k, v] of Object.entries(secretData({ ...s, data: {} }))) out[k] = Buffer.from(v, "utf8");
  return out;
};

/** `key="value"` lines, sorted by key (Kubernetes' fieldpath.FormatMap). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join("\n");
}

/** A resourceFieldRef's value, divided by its divisor and rounded up (limits default to the requests, then 0). */
export function resourceFieldValue(c: Container, resource: string, divisor: string | number | undefined): string {
  const [kind, what] = resource.split(".") as [string, string];
  const q = (kind === "limits" ? (c.resources?.limits?.[what] ?? c.resources?.requests?.[what]) : c.resources?.requests?.[what]);
  if (what === "cpu") {
    const d = divisor === undefined ? 1000 : milliCpu(divisor);
    return String(Math.ceil(milliCpu(q) / Math.max(1, d)));
  }
  const d = divisor === undefined ? 1 : units(divisor);
  return String(Math.ceil(units(q) / Math.max(1, d)));
}

function downward(pod: Pod, items: DownwardItem[], mode: number, ctx: EnvContext, out: Payload): void {
  for (const it of items) {
    let text: string;
    if (it.fieldRef) {
      const p = it.fieldRef.fieldPath;
      text = p === "metadata.labels" ? formatMap(pod.metadata.labels) : p === "metadata.annotations" ? formatMap(pod.metadata.annotations) : fieldValue(pod, p, ctx);
    } else if (it.resourceFieldRef) {
      const r = it.resourceFieldRef;
      const c = pod.spec.containers.find((x) => x.name === r.containerName) ?? pod.spec.containers[0]!;
      text = resourceFieldValue(c, r.resource, r.divisor);
    } else continue;
    out.set(it.path, { data: Buffer.from(text, "utf8"), mode: it.mode ?? mode });
  }
}

/**
 * The files of one volume; throws ConfigError when a non-optional reference is missing.
 * `fileMode` adjusts every mode (and `tokenMode` a ServiceAccount token's) for the pod's owner (ownership.ts).
 */
export function volumePayload(pod: Pod, v: Volume, lookups: VolumeLookups, ctx: EnvContext, o: { fileMode?: (m: number) => number; tokenMode?: (m: number) => number } = {}): Payload {
  const out: Payload = new Map();
  if (v.configMap) {
    const src = v.configMap as KeyedSource & { name: string };
    keyed("configmap", src.name, configMapData(lookups.configMap(src.name)), src, src.defaultMode ?? DEFAULT_MODE, out);
  } else if (v.secret) {
    const src = v.secret as KeyedSource & { secretName: string };
    keyed("secret", src.secretName, secretBytes(lookups.secret(src.secretName)), src, src.defaultMode ?? DEFAULT_MODE, out);
  } else if (v.downwardAPI) {
    const src = v.downwardAPI as { items?: DownwardItem[]; defaultMode?: number };
    downward(pod, src.items ?? [], src.defaultMode ?? DEFAULT_MODE, ctx, out);
  } else if (v.projected) {
    const src = v.projected as { sources?: ProjectedSource[]; defaultMode?: number };
    const mode = src.defaultMode ?? DEFAULT_MODE;
    for (const s of src.sources ?? []) {
      if (s.configMap) keyed("configmap", s.configMap.name ?? "", configMapData(lookups.configMap(s.configMap.name ?? "")), s.configMap, mode, out);
      else if (s.secret) keyed("secret", s.secret.name ?? "", secretBytes(lookups.secret(s.secret.name ?? "")), s.secret, mode, out);
      else if (s.downwardAPI) downward(pod, s.downwardAPI.items ?? [], mode, ctx, out);
      else if (s.serviceAccountToken) {
        const token = lookups.serviceAccountToken?.(s.serviceAccountToken);
        if (token !== undefined) out.set(s.serviceAccountToken.path, { data: Buffer.from(token, "utf8"), mode: o.tokenMode ? o.tokenMode(mode) : mode });
      }
    }
  }
  if (o.fileMode) for (const f of out.values()) f.mode = o.fileMode(f.mode);
  for (const p of out.keys()) {
    if (p.startsWith("/") || p.split("/").some((seg) => seg === ".." || seg === "") || p.startsWith("..")) throw new ConfigError(`invalid volume path "${p}" in volume ${v.name}`);
  }
  return out;
}
