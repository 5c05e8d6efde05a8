/**
 * Strategic merge patch (`application/strategic-merge-patch+json`: kubectl apply, edit, patch,
 * set, cordon, rollout restart), following apimachinery `pkg/util/strategicpatch/patch.go`:
 * - maps merge recursively and `null` deletes a key;
 * - lists whose field has strategy merge (see smp-schema.ts) merge element-wise by the merge key,
 *   primitive ones as a set; `{"$patch":"delete", <key>: v}` removes an element;
 * - `$setElementOrder/<field>` fixes the final order, `$retainKeys` drops unlisted keys of a map,
 *   `$patch: replace` replaces a map or a list, `$patch: delete` empties a map,
 *   `$deleteFromPrimitiveList/<field>` removes values from a primitive merge list;
 * - every other list is replaced wholesale. Kinds without patch metadata merge as plain JSON.
 * Inputs are never modified. A malformed patch throws `BadRequest`.
 *
 * @example applyStrategicMergePatch(node, { spec: { unschedulable: true } }, "Node")
 */
import { ErrorCode, FlotillaError } from "../errors.ts";
import { cloneJson, isObject, jsonEqual, own, safeKey, type JsonObject } from "./json.ts";
import { fieldMeta, KINDS, PatchStrategy, typeMeta, type FieldMeta, type TypeMeta } from "./smp-schema.ts";

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_FROM = "$deleteFromPrimitiveList/";

const bad = (msg: string) => new FlotillaError(ErrorCode.BadRequest, `invalid strategic merge patch: ${msg}`);

export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!isObject(patch)) throw bad("the patch must be a JSON object");
  const root = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  return mergeMap(isObject(target) ? cloneJson(target) : {}, cloneJson(patch), root);
}

const mergesLists = (f: FieldMeta) => f.strategy === PatchStrategy.Merge || f.strategy === PatchStrategy.MergeRetainKeys;

/** Merges `patch` into `original`; both are owned by the caller and may be modified. */
function mergeMap(original: JsonObject, patch: JsonObject, type: TypeMeta | undefined): JsonObject {
  if (Object.hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    delete patch[PATCH];
    if (directive === "replace") return mergeMap({}, patch, type);
    if (directive === "delete") return {};
    throw bad(`unknown $patch directive ${JSON.stringify(directive)} in a map`);
  }
  if (Object.hasOwn(patch, RETAIN_KEYS)) {
    const keep = patch[RETAIN_KEYS];
    delete patch[RETAIN_KEYS];
    if (!Array.isArray(keep) || !keep.every((k) => typeof k === "string")) throw bad("$retainKeys must be a list of strings");
    for (const [key, value] of Object.entries(patch)) {
      const directive = key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM);
      if (value !== null && !directive && !keep.includes(key)) throw bad(`"${key}" is patched but not listed in $retainKeys`);
    }
    for (const key of Object.keys(original)) if (!keep.includes(key)) delete original[key];
  }
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const order = patch[key];
    if (!Array.isArray(order)) throw bad(`${key} must be a list`);
    const meta = fieldMeta(type, field);
    const merged = mergeField(original[field], patch[field], meta);
    const list = Array.isArray(merged) ? merged : [];
    if (Array.isArray(patch[field])) checkOrderMatchesPatch(patch[field], order, meta.mergeKey, key);
    setOrReplaceList(original, field, orderBy(list, order, asList(original[field]), meta.mergeKey));
    delete patch[key];
    delete patch[field];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) throw bad(`${key} must be a list`);
      if (Array.isArray(original[field])) {
        const kept = (original[field] as unknown[]).filter((v) => !value.some((d) => jsonEqual(d, v)));
        if (kept.length > 0) original[field] = kept;
        else delete original[field];
      }
      continue;
    }
    if (value === null) {
      delete original[key];
      continue;
    }
    original[safeKey(key)] = mergeField(own(original, key), value, fieldMeta(type, key));
  }
  return original;
}

/** Stores the ordered list; an empty result does not create a field the object did not have. */
function setOrReplaceList(obj: JsonObject, field: string, list: unknown[]): void {
  if (list.length === 0 && !Array.isArray(obj[field])) delete obj[field];
  else obj[field] = list;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The merged value of one field; `undefined` (no patch value) keeps the original. */
function mergeField(original: unknown, patch: unknown, meta: FieldMeta): unknown {
  if (isObject(patch)) {
    return mergeMap(isObject(original) ? original : {}, patch, typeMeta(meta.type));
  }
  if (Array.isArray(patch)) {
    if (!mergesLists(meta)) return patch.map((v) => (isObject(v) ? mergeMap({}, v, typeMeta(meta.type)) : v));
    return mergeList(Array.isArray(original) ? original : [], patch, meta);
  }
  return patch === undefined ? original : patch;
}

const keyOf = (v: unknown, mergeKey: string): unknown => (isObject(v) ? v[mergeKey] : undefined);

/** A list field with strategy merge. */
function mergeList(original: unknown[], patch: unknown[], meta: FieldMeta): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const mapElements = patch.some(isObject) || (patch.length === 0 && original.some(isObject));
  if (!mapElements) {
    const merged = [...original];
    for (const v of patch) if (!merged.some((m) => jsonEqual(m, v))) merged.push(v);
    return orderBy(merged, patch, original, undefined);
  }
  const mergeKey = meta.mergeKey;
  if (!mergeKey) throw bad("cannot merge a list of maps without a merge key");
  const elementType = typeMeta(meta.type);
  let base = original;
  let items: JsonObject[] = [];
  let replace = false;
  for (const v of patch) {
    if (!isObject(v)) throw bad(`list elements must be maps (merge key "${mergeKey}")`);
    if (!Object.hasOwn(v, PATCH)) {
      items.push(v);
      continue;
    }
    const directive = v[PATCH];
    if (directive === "delete") {
      if (!Object.hasOwn(v, mergeKey)) throw bad(`$patch: delete element is missing its merge key "${mergeKey}"`);
      base = base.filter((o) => !jsonEqual(keyOf(o, mergeKey), v[mergeKey]));
    } else if (directive === "replace") {
      replace = true;
    } else {
      throw bad(`unknown $patch directive ${JSON.stringify(directive)} in a list`);
    }
  }
  if (replace) {
    base = items.map((v) => mergeMap({}, v, elementType));
    items = [];
  }
  const merged = [...base];
  for (const v of items) {
    if (!Object.hasOwn(v, mergeKey)) throw bad(`list element is missing its merge key "${mergeKey}"`);
    const i = merged.findIndex((o) => jsonEqual(keyOf(o, mergeKey), v[mergeKey]));
    if (i >= 0) merged[i] = mergeMap(merged[i] as JsonObject, v, elementType);
    else merged.push(mergeMap({}, v, elementType));
  }
  return orderBy(merged, items, base, mergeKey);
}

/**
 * Kubernetes' normalizeElementOrder: elements named in `order` come in that order; the others
 * (present only on the server) keep their relative order and are interleaved by their position in
 * `serverOrder`.
 */
function orderBy(merged: unknown[], order: unknown[], serverOrder: unknown[], mergeKey: string | undefined): unknown[] {
  const id = (v: unknown) => (mergeKey === undefined ? v : keyOf(v, mergeKey));
  const indexIn = (list: unknown[], v: unknown) => list.findIndex((o) => jsonEqual(id(o), id(v)));
  const inOrder = (v: unknown) => indexIn(order, v) >= 0;
  const patchItems = merged.filter(inOrder).sort((a, b) => indexIn(order, a) - indexIn(order, b));
  const serverOnly = merged.filter((v) => !inOrder(v)).sort((a, b) => indexIn(serverOrder, a) - indexIn(serverOrder, b));
  // mergeSortedSlice(serverOnly, patchItems): take a server-only item first only when both are
  // known to the server and it came first there.
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (j >= patchItems.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patchItems[j++]);
    else {
      const li = indexIn(serverOrder, serverOnly[i]);
      const ri = indexIn(serverOrder, patchItems[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

/** The patch list's elements must appear in `$setElementOrder` in the same relative order. */
function checkOrderMatchesPatch(patchList: unknown[], order: unknown[], mergeKey: string | undefined, directive: string): void {
  const id = (v: unknown) => (mergeKey === undefined ? v : keyOf(v, mergeKey));
  const kept = patchList.filter((v) => !(isObject(v) && Object.hasOwn(v, PATCH)));
  let k = 0;
  for (const o of order) if (k < kept.length && jsonEqual(id(kept[k]), id(o))) k++;
  if (k < kept.length) throw bad(`the order of the patch list does not match ${directive}`);
}
