/**
 * JSON patch (RFC 6902), as sent with `Content-Type: application/json-patch+json`
 * (kubectl rollout undo, `patch --type=json`, client-node's default). All operations apply or
 * none do: the input is never modified. A malformed document throws `BadRequest`; a failed
 * `test` or a path that does not exist throws `Invalid` (HTTP 422).
 *
 * @example applyJsonPatch({ a: [1] }, [{ op: "add", path: "/a/-", value: 2 }]) // → { a: [1, 2] }
 */
import { ErrorCode, FlotillaError } from "../errors.ts";
import { cloneJson, isObject, jsonEqual } from "./json.ts";

const OPS = ["add", "remove", "replace", "move", "copy", "test"] as const;
type Op = (typeof OPS)[number];

interface Operation {
  op: Op;
  path: string[];
  from: string[];
  value: unknown;
}

const bad = (msg: string) => new FlotillaError(ErrorCode.BadRequest, `invalid JSON patch: ${msg}`);
const invalid = (msg: string) => new FlotillaError(ErrorCode.Invalid, msg);

/** Splits a JSON pointer (RFC 6901) into unescaped tokens; "" is the whole document. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw bad(`path "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw bad(`path "${pointer}" has a bad "~" escape`);
      const token = t.replace(/~1/g, "/").replace(/~0/g, "~");
      if (token === "__proto__") throw bad(`path "${pointer}" names "__proto__"`);
      return token;
    });
}

function parseOperation(raw: unknown, i: number): Operation {
  if (!isObject(raw)) throw bad(`operation ${i} is not an object`);
  const op = raw.op;
  if (typeof op !== "string" || !(OPS as readonly string[]).includes(op)) throw bad(`operation ${i} has unknown op ${JSON.stringify(op)}`);
  if (typeof raw.path !== "string") throw bad(`operation ${i} (${op}) is missing "path"`);
  const needsValue = op === "add" || op === "replace" || op === "test";
  if (needsValue && !Object.hasOwn(raw, "value")) throw bad(`operation ${i} (${op}) is missing "value"`);
  const needsFrom = op === "move" || op === "copy";
  if (needsFrom && typeof raw.from !== "string") throw bad(`operation ${i} (${op}) is missing "from"`);
  return {
    op: op as Op,
    path: parsePointer(raw.path),
    from: needsFrom ? parsePointer(raw.from as string) : [],
    value: raw.value,
  };
}

const show = (tokens: string[]) => "/" + tokens.map((t) => t.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

function arrayIndex(arr: unknown[], token: string, path: string[], allowEnd: boolean): number {
  if (allowEnd && token === "-") return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw invalid(`path ${show(path)}: "${token}" is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw invalid(`path ${show(path)}: index ${i} is out of bounds`);
  return i;
}

/** The container (object or array) holding the last token of `path`. */
function parentOf(doc: unknown, path: string[]): unknown {
  let cur = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const t = path[i]!;
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, path, false)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw invalid(`path ${show(path)} does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw invalid(`path ${show(path)} does not exist`);
  return cur;
}

function get(doc: unknown, path: string[]): unknown {
  if (path.length === 0) return doc;
  const parent = parentOf(doc, path);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, path, false)];
  const obj = parent as Record<string, unknown>;
  if (!Object.hasOwn(obj, last)) throw invalid(`path ${show(path)} does not exist`);
  return obj[last];
}

function add(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(doc, path);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, path, true), 0, value);
  else (parent as Record<string, unknown>)[last] = value;
  return doc;
}

function remove(doc: unknown, path: string[]): unknown {
  if (path.length === 0) throw invalid("cannot remove the whole document");
  const parent = parentOf(doc, path);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, path, false), 1);
  else {
    const obj = parent as Record<string, unknown>;
    if (!Object.hasOwn(obj, last)) throw invalid(`path ${show(path)} does not exist`);
    delete obj[last];
  }
  return doc;
}

function replace(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(doc, path);
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[arrayIndex(parent, last, path, false)] = value;
  else {
    const obj = parent as Record<string, unknown>;
    if (!Object.hasOwn(obj, last)) throw invalid(`path ${show(path)} does not exist`);
    obj[last] = value;
  }
  return doc;
}

/** One handler per op; each takes the (owned, mutable) document and returns the new one. */
const apply: Record<Op, (doc: unknown, o: Operation) => unknown> = {
  add: (doc, o) => add(doc, o.path, cloneJson(o.value)),
  remove: (doc, o) => remove(doc, o.path),
  replace: (doc, o) => replace(doc, o.path, cloneJson(o.value)),
  move: (doc, o) => {
    if (o.path.length > o.from.length && o.from.every((t, i) => o.path[i] === t)) {
      throw invalid(`cannot move ${show(o.from)} into its own child ${show(o.path)}`);
    }
    const value = get(doc, o.from);
    return add(remove(doc, o.from), o.path, value);
  },
  copy: (doc, o) => add(doc, o.path, cloneJson(get(doc, o.from))),
  test: (doc, o) => {
    const actual = get(doc, o.path);
    if (!jsonEqual(actual, o.value)) {
      throw invalid(`test operation failed: ${show(o.path)} is ${JSON.stringify(actual)}, not ${JSON.stringify(o.value)}`);
    }
    return doc;
  },
};

export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw bad("the patch must be a JSON array of operations");
  const parsed = ops.map(parseOperation);
  return parsed.reduce((doc: unknown, o) => apply[o.op](doc, o), cloneJson(target));
}
