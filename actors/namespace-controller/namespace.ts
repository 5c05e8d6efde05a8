/**
 * The namespace controller's pure step: a Terminating namespace and what is still in it →
 * delete what is not yet being deleted; when nothing is left, remove the `kubernetes` finalizer
 * from spec.finalizers so the store removes the namespace.
 */
import type { KubeObject, Namespace } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";
import { RESOURCE_TYPES } from "../../bus/kinds.ts";

export const NAMESPACE_FINALIZER = "kubernetes";

/** Namespaced types, workload owners first so their controllers stop before their pods go. */
export function namespacedResources(): string[] {
  const first = ["deployments", "replicasets", "replicationcontrollers"];
  const rest = RESOURCE_TYPES.filter((r) => r.namespaced && !first.includes(r.resource)).map((r) => r.resource);
  return [...first, ...rest];
}

export type NsCommand =
  | { type: "object.delete"; resource: string; namespace: string; name: string; uid: string }
  | { type: "namespace.finalize"; namespace: Namespace };

/** Commands, and (while something is still going away) when to look again. */
export type NsDecision = Decision<NsCommand>;

export const RECHECK_MS = 250;

export function decideNamespace(ns: Namespace, contents: ReadonlyMap<string, readonly KubeObject[]>): NsDecision {
  if (!ns.metadata.deletionTimestamp) return { commands: [] };
  const finalizers = ns.spec?.finalizers ?? [];
  if (!finalizers.includes(NAMESPACE_FINALIZER)) return { commands: [] };
  const commands: NsCommand[] = [];
  let left = 0;
  const builtIn = namespacedResources();
  // Built-in types in their order, then the custom types the view listed.
  for (const resource of [...builtIn, ...[...contents.keys()].filter((r) => !builtIn.includes(r))]) {
    for (const o of contents.get(resource) ?? []) {
      left++;
      if (!o.metadata.deletionTimestamp) {
        commands.push({ type: "object.delete", resource, namespace: ns.metadata.name!, name: o.metadata.name!, uid: o.metadata.uid! });
      }
    }
  }
  if (left > 0) return { commands, requeueAfterMs: RECHECK_MS };
  const copy = structuredClone(ns);
  copy.spec = { ...(copy.spec ?? {}), finalizers: finalizers.filter((f) => f !== NAMESPACE_FINALIZER) };
  return { commands: [{ type: "namespace.finalize", namespace: copy }] };
}

/** The controller's view of one namespace key: the namespace and, only while it terminates, what is still in it. */
export interface NsView {
  namespace?: Namespace;
  contents: ReadonlyMap<string, readonly KubeObject[]>;
}

export function reconcile(_key: string, v: NsView): NsDecision {
  return v.namespace ? decideNamespace(v.namespace, v.contents) : { commands: [] };
}
