/** Patches as the store applies them (pure): merge, JSON, strategic merge and server-side apply. */
import type { KubeObject } from "../../bus/resources.ts";
import type { PatchType } from "../../bus/store-protocol.ts";
import { applyMergePatch } from "../../bus/patch/merge-patch.ts";
import { applyJsonPatch } from "../../bus/patch/json-patch.ts";
import { applyStrategicMergePatch } from "../../bus/patch/strategic-merge.ts";
import { rfc3339 as timestamp } from "../../bus/time.ts";

export function applyPatch(base: KubeObject, type: PatchType, patch: unknown, kind: string): unknown {
  switch (type) {
    case "merge":
      return applyMergePatch(base, patch);
    case "json":
      return applyJsonPatch(base, patch);
    case "strategic":
    case "apply":
      return applyStrategicMergePatch(base, patch, kind);
  }
}

/** A patch that names metadata.resourceVersion is a precondition on it (as in Kubernetes). */
export function patchPrecondition(patch: unknown, type: PatchType): string | undefined {
  if (type === "json" || !patch || typeof patch !== "object") return undefined;
  const rv = (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/** Records the apply's field manager in metadata.managedFields (one entry per manager). */
export function withManagedFields(o: KubeObject, manager: string | undefined, now: Date): KubeObject {
  const entry = { manager: manager ?? "unknown", operation: "Apply", apiVersion: o.apiVersion, time: timestamp(now), fieldsType: "FieldsV1", fieldsV1: {} };
  const others = (o.metadata.managedFields ?? []).filter((m) => (m as { manager?: string }).manager !== entry.manager);
  return { ...o, metadata: { ...o.metadata, managedFields: [...others, entry] } };
}
