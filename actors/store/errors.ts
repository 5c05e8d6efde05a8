/** The store's errors, worded as kube-apiserver words them (kube-api-surface.md §10). */
import type { ResourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

const MODIFIED = "the object has been modified; please apply your changes to the latest version and try again";

/** `deployments.apps` for a non-core group, `pods` for core. */
export function qualified(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}

export function details(rt: ResourceType, name: string) {
  return rt.group ? { name, group: rt.group, kind: rt.resource } : { name, kind: rt.resource };
}

export function notFound(rt: ResourceType, name: string): FlotillaError {
  return new FlotillaError(ErrorCode.NotFound, `${qualified(rt)} "${name}" not found`, { details: details(rt, name) });
}

export function conflict(rt: ResourceType, name: string, why = MODIFIED): FlotillaError {
  return new FlotillaError(ErrorCode.Conflict, `Operation cannot be fulfilled on ${qualified(rt)} "${name}": ${why}`, { details: details(rt, name) });
}

export function alreadyExists(rt: ResourceType, name: string): FlotillaError {
  return new FlotillaError(ErrorCode.AlreadyExists, `${qualified(rt)} "${name}" already exists`, { details: details(rt, name) });
}

export function invalidField(rt: ResourceType, name: string | undefined, field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorCode.Invalid, `${rt.kind}${rt.group ? "." + rt.group : ""} "${name ?? ""}" is invalid: ${field}: ${message}`, {
    details: { kind: rt.kind, name, group: rt.group || undefined, causes: [{ field, reason: "FieldValueRequired", message }] },
  });
}

export function isConflict(e: unknown): boolean {
  return e instanceof FlotillaError && e.code === ErrorCode.Conflict;
}
