/** `/ui/`: the dashboard's static files from `ui/dist/` when it has been built (else 404). */
import type { ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";

export const UI_DIST = resolve(fileURLToPath(new URL("../../ui/dist/", import.meta.url)));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

/** The file a `/ui/…` path names inside `root`, or undefined (never outside `root`). */
export function uiFile(root: string, path: string): string | undefined {
  const rel = normalize(decodeURIComponent(path)).replace(/^(\.\.(\/|\\|$))+/, "");
  let file = join(root, rel);
  if (!file.startsWith(root)) return undefined;
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
  if (existsSync(file)) return file;
  // Client-side routes fall back to the app shell.
  const index = join(root, "index.html");
  return extname(rel) === "" && existsSync(index) ? index : undefined;
}

export function serveUi(res: ServerResponse, path: string, root = UI_DIST): void {
  const file = existsSync(root) ? uiFile(root, path) : undefined;
  if (!file) throw new FlotillaError(ErrorCode.NotFound, "the dashboard is not built (ui/dist is missing)");
  const body = readFileSync(file);
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
  res.end(body);
}
