/**
 * Container environment resolution: `env` (value, configMapKeyRef, secretKeyRef, fieldRef,
 * resourceFieldRef) and `envFrom`. Lookups are injected, so the resolution itself is pure; a
 * missing non-optional reference throws ConfigError → `CreateContainerConfigError`, retried.
 */
import type { Pod, Container, ConfigMap, Secret } from "../../bus/resources.ts";
import { milliCpu, units } from "../../bus/quantity.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly reason: string = "CreateContainerConfigError";
}

export interface EnvLookups {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

export interface EnvContext {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

export function secretData(s: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = b64(v);
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

export function fieldValue(pod: Pod, path: string, ctx: EnvContext): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return pod.spec.nodeName ?? ctx.nodeName;
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
      return ctx.podIP;
    case "status.hostIP":
      return ctx.hostIP;
    default:
      throw new ConfigError(`unsupported fieldRef fieldPath "${path}"`);
  }
}

function resourceValue(c: Container, resource: string): string {
  const [kind, what] = resource.split(".") as [string, string];
  const q = (kind === "limits" ? c.resources?.limits : c.resources?.requests)?.[what];
  if (q === undefined) return what === "cpu" ? "0" : "0";
  return what === "cpu" ? String(Math.ceil(milliCpu(q) / 1000)) : String(units(q));
}

/** Expands `$(VAR)` references to earlier variables (Kubernetes dependent env vars). */
function expand(v: string, env: Record<string, string>): string {
  return v.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => (name === undefined ? "$" : (env[name] ?? all)));
}

export function resolveEnv(pod: Pod, c: Container, lookups: EnvLookups, ctx: EnvContext): Record<string, string> {
  const ns = pod.metadata.namespace ?? "default";
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const cm = lookups.configMap(ns, from.configMapRef.name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[prefix + k] = v;
    }
    if (from.secretRef) {
      const s = lookups.secret(ns, from.secretRef.name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secretData(s))) env[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expand(e.value ?? "", env);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const v = lookups.configMap(ns, ref.name)?.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(lookups.configMap(ns, ref.name) ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}` : `configmap "${ref.name}" not found`);
      }
      env[e.name] = v;
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const s = lookups.secret(ns, ref.name);
      const v = s ? secretData(s)[ref.key] : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(s ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`);
      }
      env[e.name] = v;
    } else if (vf.fieldRef) {
      env[e.name] = fieldValue(pod, vf.fieldRef.fieldPath, ctx);
    } else if (vf.resourceFieldRef) {
      const target = vf.resourceFieldRef.containerName ? pod.spec.containers.find((x) => x.name === vf.resourceFieldRef!.containerName) ?? c : c;
      env[e.name] = resourceValue(target, vf.resourceFieldRef.resource);
    }
  }
  return env;
}
