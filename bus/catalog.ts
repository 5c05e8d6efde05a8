/**
 * The resource types one process serves: the static registry (bus/kinds.ts) plus the types that
 * established CustomResourceDefinitions add at run time. Each actor that needs custom types holds
 * its own catalog (fed from its CRD informer or a read of the store), so two clusters in one
 * process never see each other's types. Static types always win: a CRD cannot shadow a built-in.
 *
 * @example
 *   const catalog = new ResourceCatalog();
 *   catalog.setCustom(crds.map(customTypeOf).filter(isDefined));
 *   catalog.find("example.com", "v1", "widgets");
 */
import type { ResourceType } from "./kinds.ts";
import { RESOURCE_TYPES, REVIEW_TYPES, METRICS_TYPES, HPA_V1, resourceType } from "./kinds.ts";

export interface GroupVersions {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
}

/** Kubernetes' version priority: GA > beta > alpha, higher numbers first, others last by name. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0, v];
    const tier = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [tier, Number(m[1]), Number(m[3] ?? 0), v];
  };
  const [ta, ma, na, sa] = rank(a);
  const [tb, mb, nb, sb] = rank(b);
  if (ta !== tb) return tb - ta;
  if (ma !== mb) return mb - ma;
  if (na !== nb) return nb - na;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export class ResourceCatalog {
  private custom = new Map<string, ResourceType>();
  private listeners: (() => void)[] = [];
  private _generation = 0;

  /** Bumps on every change of the custom types (caches of documents key on it). */
  get generation(): number {
    return this._generation;
  }

  /** Replaces the custom types; answers whether anything changed. */
  setCustom(types: readonly ResourceType[]): boolean {
    const next = new Map<string, ResourceType>();
    for (const rt of types) if (!resourceType(rt.resource) && !next.has(rt.resource)) next.set(rt.resource, rt);
    if (JSON.stringify([...next]) === JSON.stringify([...this.custom])) return false;
    this.custom = next;
    this._generation++;
    for (const l of this.listeners) l();
    return true;
  }

  onChange(l: () => void): void {
    this.listeners.push(l);
  }

  customTypes(): ResourceType[] {
    return [...this.custom.values()];
  }

  /** Every type served: the stored ones, the reviews and metrics (answered at once, never stored) and the custom ones. */
  all(): ResourceType[] {
    return [...RESOURCE_TYPES, ...REVIEW_TYPES, ...METRICS_TYPES, HPA_V1, ...this.custom.values()];
  }

  /** By plural (the store's and KV's name for a type). */
  get(resource: string): ResourceType | undefined {
    return resourceType(resource) ?? this.custom.get(resource);
  }

  /** The type a URL names, seen at that version (custom types serve several). */
  find(group: string, version: string, resource: string): ResourceType | undefined {
    const named = this.all().filter((r) => r.group === group && r.resource === resource);
    // A built-in type may be served at more than one version (HorizontalPodAutoscaler: v2 and v1).
    const rt = named.find((r) => !r.custom && r.version === version) ?? named[0];
    if (!rt) return undefined;
    if (!rt.custom) return rt.version === version ? rt : undefined;
    return rt.custom.versions.some((v) => v.name === version) ? { ...rt, version } : undefined;
  }

  /** The types of one group/version, in discovery order. */
  resourcesOf(group: string, version: string): ResourceType[] {
    const out: ResourceType[] = [];
    for (const r of this.all()) {
      if (r.group !== group) continue;
      if (r.custom) {
        if (r.custom.versions.some((v) => v.name === version)) out.push({ ...r, version });
      } else if (r.version === version) out.push(r);
    }
    return out;
  }

  /** Every named group with its versions, preferred first (the core group "" excluded). */
  groups(): GroupVersions[] {
    const byGroup = new Map<string, Set<string>>();
    for (const r of this.all()) {
      if (r.group === "") continue;
      const set = byGroup.get(r.group) ?? new Set<string>();
      for (const v of r.custom ? r.custom.versions.map((x) => x.name) : [r.version]) set.add(v);
      byGroup.set(r.group, set);
    }
    return [...byGroup].map(([group, vs]) => ({ group, versions: [...vs].sort(compareVersions) }));
  }

  hasGroupVersion(group: string, version: string): boolean {
    if (group === "") return version === "v1";
    return this.groups().some((g) => g.group === group && g.versions.includes(version));
  }
}

/** The catalog of the static types only (for callers that serve no custom resources). */
export const STATIC_CATALOG = new ResourceCatalog();
