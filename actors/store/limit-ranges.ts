/**
 * LimitRange admission for pods (Kubernetes' LimitRanger, pure): containers without requests or
 * limits get the namespace's `defaultRequest` / `default`, and a container past a `max` or under
 * a `min` is refused with 403 as Kubernetes words it.
 */
import type { KubeObject, Pod } from "../../bus/resources.ts";
import { milliCpu, units } from "../../bus/quantity.ts";

export interface LimitRange extends KubeObject {
  spec?: { limits?: { type: string; default?: Record<string, string>; defaultRequest?: Record<string, string>; max?: Record<string, string>; min?: Record<string, string> }[] };
}

const amount = (res: string, q: string) => (res === "cpu" ? milliCpu(q) : units(q));

/** The pod with defaults applied (a copy), and the refusals (empty when it fits). */
export function limitPod(pod: Pod, ranges: readonly LimitRange[]): { pod: Pod; refusals: string[] } {
  const out = structuredClone(pod);
  const refusals: string[] = [];
  for (const r of ranges) {
    for (const l of r.spec?.limits ?? []) {
      if (l.type !== "Container") continue;
      for (const c of out.spec?.containers ?? []) {
        c.resources ??= {};
        for (const [res, q] of Object.entries(l.default ?? {})) {
          c.resources.limits ??= {};
          c.resources.limits[res] ??= q;
        }
        for (const [res, q] of Object.entries(l.defaultRequest ?? l.default ?? {})) {
          c.resources.requests ??= {};
          c.resources.requests[res] ??= c.resources.limits?.[res] !== undefined && !l.defaultRequest?.[res] ? c.resources.limits[res]! : q;
        }
        for (const [res, q] of Object.entries(l.max ?? {})) {
          const lim = c.resources.limits?.[res];
          if (lim === undefined) refusals.push(`maximum ${res} usage per Container is ${q}.  No limit is specified`);
          else if (amount(res, lim) > amount(res, q)) refusals.push(`maximum ${res} usage per Container is ${q}, but limit is ${lim}`);
        }
        for (const [res, q] of Object.entries(l.min ?? {})) {
          const req = c.resources.requests?.[res];
          if (req === undefined) refusals.push(`minimum ${res} usage per Container is ${q}.  No request is specified`);
          else if (amount(res, req) < amount(res, q)) refusals.push(`minimum ${res} usage per Container is ${q}, but request is ${req}`);
        }
      }
    }
  }
  return { pod: out, refusals };
}
