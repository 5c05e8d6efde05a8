/**
 * Pod-template identity for Deployments: the `pod-template-hash` (a stable FNV-1a hash of the
 * canonical template, encoded like Kubernetes' SafeEncodeString) and template equality that ignores
 * that label and treats empty and absent maps/lists alike (apimachinery's semantic equality).
 */
import type { PodTemplateSpec } from "../../bus/resources.ts";

export const POD_TEMPLATE_HASH = "pod-template-hash";

/** JSON with sorted keys and empty objects/arrays/undefined dropped. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) {
    const a = v.map(canonical).filter((x) => x !== undefined);
    return a.length === 0 ? undefined : a;
  }
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

/** The template without the pod-template-hash label, canonicalised. */
export function canonicalTemplate(t: PodTemplateSpec | undefined): string {
  const copy = structuredClone(t ?? { spec: { containers: [] } });
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
  return JSON.stringify(canonical(copy) ?? {});
}

export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalTemplate(a) === canonicalTemplate(b);
}

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes.
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** `pod-template-hash` of a template; a collision count perturbs it (status.collisionCount). */
export function templateHash(t: PodTemplateSpec | undefined, collisionCount = 0): string {
  const h = fnv1a32(canonicalTemplate(t) + (collisionCount > 0 ? `#${collisionCount}` : ""));
  return String(h)
    .split("")
    .map((d) => ALPHANUMS[d.charCodeAt(0) % ALPHANUMS.length])
    .join("");
}
