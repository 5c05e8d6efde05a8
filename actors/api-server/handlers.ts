/**
 * Resource verbs: HTTP request → store-protocol call → HTTP answer. Validation, defaulting and CAS
 * happen in the store; this layer only translates (kube-api-surface.md §5, §8).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { StoreClient } from "../../bus/store-client.ts";
import type { KubeObject, KubeList, DeleteOptions, Binding } from "../../bus/resources.ts";
import type { ResourceRoute } from "./routes.ts";
import type { PatchType, Subresource } from "../../bus/store-protocol.ts";
import type { ResourceType } from "../../bus/kinds.ts";
import { apiVersionOf } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError, isCode } from "../../bus/errors.ts";
import { readBody, parseBody, patchTypeOf, sendJson, wantsTable } from "./http.ts";
import { listOptions } from "./list-options.ts";
import { int64Param, kubeBool, resourceVersionParam } from "./query.ts";
import { successStatus } from "./status.ts";
import { toScale } from "../../bus/scale.ts";
import { toTable } from "./tables.ts";
import { checkFields, warningHeaders } from "./field-validation.ts";
import { asVersion } from "../../bus/crd.ts";

export interface HandlerDeps {
  store: StoreClient;
  now: () => number;
}

export type IncludeObject = "None" | "Metadata" | "Object";
export function includeObjectOf(q: URLSearchParams): IncludeObject {
  const v = q.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}

const badRequest = (msg: string) => new FlotillaError(ErrorCode.BadRequest, msg);
export const isDryRun = (q: URLSearchParams) => q.getAll("dryRun").includes("All");

/** fieldValidation: Strict throws 400, Warn adds `Warning` headers. */
function validateFields(res: ServerResponse, kind: string | ResourceType, body: unknown, q: URLSearchParams): void {
  const warnings = checkFields(kind, body, q.get("fieldValidation"));
  if (warnings.length) res.setHeader("Warning", warningHeaders(warnings));
}

/** Writes an object (or a one-row Table when asked). */
function answer(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams, code: number, stored: KubeObject): void {
  const o = asVersion(route.rt, stored);
  if (wantsTable(req.headers.accept) && route.subresource === undefined && req.method === "GET") {
    const table = toTable(route.rt, [o], { now: new Date(deps.now()), includeObject: includeObjectOf(q), resourceVersion: o.metadata.resourceVersion });
    return sendJson(res, code, table);
  }
  sendJson(res, code, o);
}

/** Fills apiVersion/kind from the URL and checks them. */
export function objectForRoute(route: ResourceRoute, body: unknown): KubeObject {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the request body must be a JSON object");
  const o = { ...(body as KubeObject) };
  const rt = route.rt;
  o.apiVersion ??= apiVersionOf(rt);
  o.kind ??= rt.kind;
  if (o.kind !== rt.kind) throw badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(rt)}) for kind ${rt.kind}: got kind ${o.kind}`);
  if (o.apiVersion !== apiVersionOf(rt)) throw badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(rt)})`);
  o.metadata = { ...(o.metadata ?? {}) };
  // The store checks the name and namespace against the URL's (actors/store/target.ts).
  if (!rt.namespaced) delete o.metadata.namespace;
  return o;
}

export async function handleGet(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  resourceVersionParam(q); // 400 on a malformed one
  const o = await deps.store.get(route.rt.resource, route.namespace, route.name!);
  if (route.subresource === "scale") return sendJson(res, 200, toScale(o));
  answer(deps, req, res, route, q, 200, o);
}

export async function handleList(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const rt = route.rt;
  const o = listOptions(rt.resource, q, { watch: false });
  const list = await deps.store.list(rt.resource, route.namespace, {
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.continue !== undefined ? { continue: o.continue } : {}),
  });
  const out: KubeList = { ...list, apiVersion: apiVersionOf(rt), kind: `${rt.kind}List`, items: list.items.map((o) => asVersion(rt, { ...o, apiVersion: o.apiVersion ?? apiVersionOf(rt), kind: o.kind ?? rt.kind })) };
  if (wantsTable(req.headers.accept)) {
    const table = toTable(rt, out.items, { now: new Date(deps.now()), includeObject: includeObjectOf(q), resourceVersion: list.metadata.resourceVersion });
    if (list.metadata.continue) (table.metadata as Record<string, unknown>).continue = list.metadata.continue;
    return sendJson(res, 200, table);
  }
  sendJson(res, 200, out);
}

export async function handleCreate(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const body = parseBody(await readBody(req), req.headers["content-type"]);
  const { rt, namespace, name } = route;
  if (route.subresource === "binding") {
    const b = body as Binding | undefined;
    if (!b?.target?.name) throw new FlotillaError(ErrorCode.Invalid, `Binding "${name}" is invalid: target.name: Required value`);
    await deps.store.bind(namespace!, name!, b.target.name, b.metadata?.uid);
    return sendJson(res, 201, successStatus(201));
  }
  if (route.subresource === "eviction") {
    const ev = (body ?? {}) as { deleteOptions?: DeleteOptions };
    await deps.store.evict(namespace!, name!, ev.deleteOptions ?? undefined);
    return sendJson(res, 201, successStatus(201));
  }
  validateFields(res, rt, body, q);
  const o = objectForRoute(route, body);
  if (rt.namespaced && !namespace) throw badRequest("the server could not find the requested resource: a namespaced object needs a namespace in the URL");
  const created = await deps.store.send<KubeObject>({ type: "create", resource: rt.resource, namespace, object: o, dryRun: isDryRun(q), fieldManager: q.get("fieldManager") ?? undefined });
  sendJson(res, 201, asVersion(rt, created));
}

export async function handleUpdate(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const body = parseBody(await readBody(req), req.headers["content-type"]);
  const { rt, namespace, name } = route;
  if (route.subresource === "scale") {
    const scale = { ...(body as KubeObject), metadata: { ...((body as KubeObject)?.metadata ?? {}), name, namespace } };
    return sendJson(res, 200, await deps.store.update(rt.resource, scale, { dryRun: isDryRun(q), subresource: "scale" }));
  }
  if (route.subresource === undefined) validateFields(res, rt, body, q);
  const o = objectForRoute(route, body);
  const target = { resource: rt.resource, namespace, name: name!, object: o };
  const updated = await deps.store.send<KubeObject>(route.subresource === "status" ? { type: "status", ...target } : { type: "update", ...target, dryRun: isDryRun(q) });
  sendJson(res, 200, asVersion(rt, updated));
}

export async function handlePatch(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const patchType: PatchType = patchTypeOf(req.headers["content-type"]);
  const patch = checkPatchShape(patchType, parseBody(await readBody(req), req.headers["content-type"]));
  const { rt, namespace, name } = route;
  const dryRun = isDryRun(q);
  const fieldManager = q.get("fieldManager") ?? undefined;
  const subresource = route.subresource as Subresource | undefined;
  if (!subresource && patchType !== "json") validateFields(res, rt, patch, q);
  // Server-side apply creates the object when it is absent: answer 201 then.
  const existed = patchType !== "apply" || subresource ? true : await deps.store.get(rt.resource, namespace, name!).then(() => true, () => false);
  const o = await deps.store.patch(rt.resource, namespace, name!, patchType, patch, { dryRun, fieldManager, force: kubeBool(q, "force") === true, ...(subresource ? { subresource } : {}) });
  sendJson(res, existed ? 200 : 201, asVersion(rt, o));
}

/** A JSON patch is a list of operations; every other kind is an object. Else 400, naming the kind. */
export function checkPatchShape(type: PatchType, patch: unknown): unknown {
  if (patch === undefined || patch === null) throw badRequest(`the ${PATCH_NAMES[type]} body is empty`);
  if (type === "json") {
    if (!Array.isArray(patch)) throw badRequest(`invalid JSON patch: the body must be a list of operations, not ${describe(patch)}`);
    return patch;
  }
  if (typeof patch !== "object" || Array.isArray(patch)) throw badRequest(`invalid ${PATCH_NAMES[type]}: the body must be an object, not ${describe(patch)}`);
  return patch;
}
const PATCH_NAMES: Record<PatchType, string> = { json: "JSON patch", merge: "merge patch", strategic: "strategic merge patch", apply: "apply patch" };
const describe = (v: unknown) => (Array.isArray(v) ? "a list" : v === null ? "null" : `a ${typeof v}`);

/** DeleteOptions from the body (JSON or protobuf) and the query (query wins where both are set). */
export function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions {
  if (body !== undefined && (body === null || typeof body !== "object" || Array.isArray(body))) throw badRequest(`the DeleteOptions body must be an object, not ${describe(body)}`);
  const b = (body ?? {}) as DeleteOptions & { orphanDependents?: boolean };
  const o: DeleteOptions = {};
  const fromBody = b.gracePeriodSeconds;
  if (fromBody !== undefined && fromBody !== null && !Number.isInteger(fromBody)) throw badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(fromBody)}: must be an integer`);
  const grace = int64Param(q, "gracePeriodSeconds") ?? fromBody ?? undefined;
  // Kubernetes (rest.BeforeDelete): a negative grace period is taken as 1 second.
  if (grace !== undefined) o.gracePeriodSeconds = grace < 0 ? 1 : grace;
  const pp = q.get("propagationPolicy") ?? b.propagationPolicy ?? (b.orphanDependents ? "Orphan" : undefined);
  if (pp) {
    if (pp !== "Orphan" && pp !== "Background" && pp !== "Foreground") throw badRequest(`propagationPolicy: Unsupported value: "${pp}"`);
    o.propagationPolicy = pp;
  }
  if (b.preconditions) o.preconditions = b.preconditions;
  const dry = [...q.getAll("dryRun"), ...(b.dryRun ?? [])];
  if (dry.length) o.dryRun = dry;
  return o;
}

export async function handleDelete(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const body = parseBody(await readBody(req), req.headers["content-type"]);
  const o = await deps.store.delete(route.rt.resource, route.namespace, route.name!, deleteOptions(body, q));
  sendJson(res, 200, asVersion(route.rt, o));
}

/** deletecollection: list with the selectors, then delete each (an object already gone is skipped). */
export async function handleDeleteCollection(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const body = parseBody(await readBody(req), req.headers["content-type"]);
  const opts = deleteOptions(body, q);
  const { rt, namespace } = route;
  const sel = listOptions(rt.resource, q, { watch: false });
  const list = await deps.store.list(rt.resource, namespace, { labelSelector: sel.labelSelector, fieldSelector: sel.fieldSelector });
  const items: KubeObject[] = [];
  for (const o of list.items) {
    try {
      items.push(await deps.store.delete(rt.resource, o.metadata.namespace || undefined, o.metadata.name!, opts));
    } catch (e) {
      if (!isCode(e, ErrorCode.NotFound)) throw e;
    }
  }
  sendJson(res, 200, { apiVersion: apiVersionOf(rt), kind: `${rt.kind}List`, metadata: { resourceVersion: list.metadata.resourceVersion }, items });
}
