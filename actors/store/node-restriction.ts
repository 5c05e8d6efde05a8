/**
 * Kubernetes' NodeRestriction, in the store: a request that came in on `…store.node.<node>.<verb>`
 * (a subject only that node's NATS user may publish on) is that node's, and a node may write only
 * what is its own:
 * - its Node object (create, update, status, patch, delete);
 * - its Lease in `kube-node-lease`;
 * - pods bound to it (`spec.nodeName`): status, patch, update, delete — never bind or evict, and
 *   create only mirror pods of its static pods (bound to it, with `kubernetes.io/config.mirror`);
 * - Events (the kubelet records them);
 * - PersistentVolumes its local-path provisioner makes: create and delete one pinned to this node.
 * Reads are not restricted. Everything else a node asks to write is `Forbidden`.
 *
 * @example
 *   refuseForNode("n1", { type: "status", resource: "nodes", name: "n2", object }) // Forbidden
 */
import type { StoreRequest } from "../../bus/store-protocol.ts";
import type { KubeObject, Pod } from "../../bus/resources.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { decodeToken } from "../../bus/subjects.ts";
import { Annotation, LOCAL_PATH_PROVISIONER, pinnedNode, type PersistentVolume } from "../../bus/storage.ts";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The caller of a store request, from the subject it arrived on. */
export type StoreCaller = { node?: string; verb: string };

/** `…store.<verb>` → control plane; `…store.node.<node>.<verb>` → that node. */
export function callerOf(subject: string, storePrefix: string, nodePrefix: string): StoreCaller | undefined {
  if (subject.startsWith(nodePrefix)) {
    const [token, verb, ...rest] = subject.slice(nodePrefix.length).split(".");
    if (!token || !verb || rest.length) return undefined;
    return { node: decodeToken(token), verb };
  }
  if (!subject.startsWith(storePrefix)) return undefined;
  const verb = subject.slice(storePrefix.length);
  return verb.includes(".") ? undefined : { verb };
}

/** The stored object a node's write must be checked against (pods: to whom it is bound). */
export function targetToCheck(req: StoreRequest): { resource: string; namespace?: string; name: string } | undefined {
  const checked = req.type === "update" || req.type === "status" || req.type === "patch" || req.type === "delete";
  if (req.type === "delete" && req.resource === "persistentvolumes") return { resource: "persistentvolumes", name: req.name };
  return checked && req.resource === "pods" ? { resource: "pods", namespace: req.namespace, name: req.name } : undefined;
}

const forbidden = (node: string, what: string) => new FlotillaError(ErrorCode.Forbidden, `node "${node}" is not allowed to ${what}`);

/** Why this node may not send this request; undefined when it may. `current`: the stored object of targetToCheck. */
export function refuseForNode(node: string, req: StoreRequest, current?: KubeObject): FlotillaError | undefined {
  if (req.type === "get" || req.type === "list") return undefined;
  if (req.type === "bind" || req.type === "evict") return forbidden(node, `${req.type} pods (${req.namespace}/${req.name})`);
  if (req.type === "bindAll") return forbidden(node, "bind pods");
  const resource = req.resource;
  const name = req.type === "create" ? req.object.metadata?.name : req.name;
  const namespace = req.namespace ?? (req.type === "create" ? req.object.metadata?.namespace : undefined);
  if (resource === "events") return undefined;
  if (resource === "nodes") return name === node ? undefined : forbidden(node, `modify node "${name ?? ""}"`);
  if (resource === "leases") {
    return namespace === NODE_LEASE_NAMESPACE && name === node ? undefined : forbidden(node, `modify lease ${namespace ?? ""}/${name ?? ""}`);
  }
  if (resource === "pods") {
    if (req.type === "create") {
      const pod = req.object as Pod;
      const mirror = pod.metadata?.annotations?.["kubernetes.io/config.mirror"] !== undefined;
      return mirror && pod.spec?.nodeName === node ? undefined : forbidden(node, mirror ? `create a mirror pod bound to another node` : `create pods`);
    }
    const boundTo = (current as Pod | undefined)?.spec?.nodeName;
    if (current && boundTo !== node) return forbidden(node, `modify pod ${namespace ?? ""}/${name ?? ""}: it is bound to ${boundTo ? `node "${boundTo}"` : "no node"}`);
    const moved = "object" in req ? (req.object as Pod).spec?.nodeName : undefined;
    if (moved !== undefined && moved !== node) return forbidden(node, `bind pod ${namespace ?? ""}/${name ?? ""} to node "${moved}"`);
    return undefined;
  }
  if (resource === "persistentvolumes" && (req.type === "create" || req.type === "delete")) {
    const pv = (req.type === "create" ? req.object : current) as PersistentVolume | undefined;
    const local = pv?.metadata?.annotations?.[Annotation.provisionedBy] === LOCAL_PATH_PROVISIONER && pv.spec && pinnedNode(pv) === node;
    return !pv || local ? undefined : forbidden(node, `${req.type} persistentvolume "${name ?? ""}": only local-path volumes of this node`);
  }
  return forbidden(node, `${req.type} ${resource}`);
}
