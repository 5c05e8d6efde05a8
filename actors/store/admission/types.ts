/** The admission contract between the store and the per-kind admitters. Types only. */
import type { Cause } from "../../../bus/errors.ts";
import type { KubeObject } from "../../../bus/resources.ts";
import type { NameFn } from "./names.ts";

export interface AdmissionContext {
  now: () => Date;
  operation: "create" | "update" | "status";
  /** The stored object, for update and status. */
  old?: KubeObject;
  options?: { defaultTolerationSeconds?: number };
}

/**
 * What admission knows about one kind. Every hook works on a private copy of the request object;
 * `defaults` and `prepareCreate` mutate it, the validators only read.
 */
export interface Admitter {
  /** How `metadata.name` (and `generateName`, as a prefix) is checked. */
  nameFn: NameFn;
  /** Kubernetes' defaulting (pkg/apis/core/v1/defaults.go and friends), run on create and update. */
  defaults?(obj: KubeObject, ctx: AdmissionContext): void;
  /** The registry strategy's PrepareForCreate: system-owned fields such as a fresh status. */
  prepareCreate?(obj: KubeObject, ctx: AdmissionContext): void;
  /** Full validation of the object (create and update). */
  validate(obj: KubeObject, ctx: AdmissionContext): Cause[];
  /** Rules that compare with the stored object (immutable fields). */
  validateUpdate?(obj: KubeObject, old: KubeObject, ctx: AdmissionContext): Cause[];
  /** Defaults of the status subresource. */
  defaultStatus?(obj: KubeObject, ctx: AdmissionContext): void;
  /** Validation of a status write: only status is looked at. */
  validateStatus?(obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext): Cause[];
  /** metadata.generation counts spec changes (workloads, whose controllers report observedGeneration). */
  tracksGeneration?: boolean;
}
