/**
 * The garbage collector's pure step for one object, given a read-only view of the ownership graph.
 *
 * As a dependent: all owners gone → delete it (Foreground when an owner is being deleted in the
 * foreground); some owners gone but others alive → drop the references to the gone ones. Owners
 * that look gone in the cache are verified against the store before anything is deleted.
 * As an owner being deleted: `orphan` → strip its references from every dependent, then drop the
 * finalizer; `foregroundDeletion` → once no dependent refers to it any more, drop the finalizer.
 */
import type { KubeObject, OwnerReference } from "../../bus/resources.ts";
import type { Decision } from "../../runtime/controller.ts";

export const Finalizer = { foreground: "foregroundDeletion", orphan: "orphan" } as const;

export interface GcNode {
  resource: string;
  object: KubeObject;
}

export interface GraphView {
  /** The object with this uid, from any watched resource type. */
  byUid(uid: string): GcNode | undefined;
  /** Every object with an ownerReference to this uid. */
  dependentsOf(uid: string): GcNode[];
}

export type GcCommand =
  /** Delete `target` once every owner in `verifyGone` is confirmed absent from the store. */
  | { type: "object.delete"; target: Ref; propagationPolicy: "Background" | "Foreground"; verifyGone: OwnerRef[] }
  /** Write `object` (a copy without the references to `uids`), CAS on its resourceVersion. */
  | { type: "object.drop-owner-refs"; resource: string; object: KubeObject; uids: string[]; verifyGone: OwnerRef[] }
  /** Write `object` (a copy without `finalizer`): the store removes an object that has no finalizer left. */
  | { type: "object.finalize"; resource: string; object: KubeObject; finalizer: string };

export interface Ref {
  resource: string;
  namespace?: string;
  name: string;
  uid: string;
}
export interface OwnerRef {
  ref: OwnerReference;
  /** The dependent's namespace: a namespaced owner lives in it. */
  namespace?: string;
}

function refOf(n: GcNode): Ref {
  return { resource: n.resource, namespace: n.object.metadata.namespace, name: n.object.metadata.name!, uid: n.object.metadata.uid! };
}

function withoutRefs(o: KubeObject, uids: ReadonlySet<string>): KubeObject {
  const c = structuredClone(o);
  const refs = (c.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
  if (refs.length > 0) c.metadata.ownerReferences = refs;
  else delete c.metadata.ownerReferences;
  return c;
}

function deletingWith(o: KubeObject, finalizer: string): boolean {
  return !!o.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes(finalizer);
}

export function decideDependent(node: GcNode, graph: GraphView): GcCommand[] {
  const o = node.object;
  const refs = o.metadata.ownerReferences ?? [];
  if (refs.length === 0 || o.metadata.deletionTimestamp) return [];
  const dangling: OwnerReference[] = [];
  const foreground: OwnerReference[] = [];
  let solid = 0;
  for (const r of refs) {
    const owner = graph.byUid(r.uid);
    if (!owner || owner.object.metadata.name !== r.name) dangling.push(r);
    else if (deletingWith(owner.object, Finalizer.foreground)) foreground.push(r);
    // An owner being orphaned releases its dependents itself.
    else solid++;
  }
  const ns = o.metadata.namespace;
  const verifyGone = dangling.map((ref) => ({ ref, ...(ns ? { namespace: ns } : {}) }));
  if (solid === 0 && dangling.length + foreground.length > 0) {
    return [{ type: "object.delete", target: refOf(node), propagationPolicy: foreground.length > 0 ? "Foreground" : "Background", verifyGone }];
  }
  if (solid > 0 && dangling.length + foreground.length > 0) {
    const uids = new Set([...dangling, ...foreground].map((r) => r.uid));
    return [{ type: "object.drop-owner-refs", resource: node.resource, object: withoutRefs(o, uids), uids: [...uids], verifyGone }];
  }
  return [];
}

export function decideOwner(node: GcNode, graph: GraphView): GcCommand[] {
  const o = node.object;
  if (!o.metadata.deletionTimestamp) return [];
  const uid = o.metadata.uid!;
  const dependents = graph.dependentsOf(uid);
  if (deletingWith(o, Finalizer.orphan)) {
    if (dependents.length > 0) {
      return dependents.map((d) => ({ type: "object.drop-owner-refs", resource: d.resource, object: withoutRefs(d.object, new Set([uid])), uids: [uid], verifyGone: [] }));
    }
    return [{ type: "object.finalize", resource: node.resource, object: withoutFinalizer(o, Finalizer.orphan), finalizer: Finalizer.orphan }];
  }
  if (deletingWith(o, Finalizer.foreground) && dependents.length === 0) {
    return [{ type: "object.finalize", resource: node.resource, object: withoutFinalizer(o, Finalizer.foreground), finalizer: Finalizer.foreground }];
  }
  return [];
}

function withoutFinalizer(o: KubeObject, f: string): KubeObject {
  const c = structuredClone(o);
  const rest = (c.metadata.finalizers ?? []).filter((x) => x !== f);
  if (rest.length > 0) c.metadata.finalizers = rest;
  else delete c.metadata.finalizers;
  return c;
}

/** Both roles at once: what the collector does when this object's key comes up. */
export function decideGc(node: GcNode, graph: GraphView): GcCommand[] {
  return [...decideOwner(node, graph), ...decideDependent(node, graph)];
}

/** The collector's view of one key (`<resource>|<namespace>/<name>`): the object, if cached, and the graph. */
export interface GcView {
  node?: GcNode;
  graph: GraphView;
}

export function reconcile(_key: string, v: GcView): Decision<GcCommand> {
  return { commands: v.node ? decideGc(v.node, v.graph) : [] };
}
