/**
 * `/ui/`: the dashboard's static files from `ui/dist/`, served without authentication (the page
 * signs in itself; every API call it makes carries the token). On the first request the bundle is
 * built when ui/dist is missing or older than ui/src (scripts/build-ui.mjs, esbuild: ~0.2 s).
 */
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

/** Everything the page loads comes from this server; no inline scripts, no third-party origins. */
const HEADERS = {
  "Cache-Control": "no-cache",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "Referrer-Policy": "no-referrer",
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

/** Builds ui/dist from ui/src when needed (once per process); a failed build leaves what is there. */
async function ensureBuilt(): Promise<string | undefined> {
  try {
    const { ensureUiBuilt } = await import("../../scripts/build-ui.mjs");
    await ensureUiBuilt();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export async function serveUi(res: ServerResponse, path: string, root = UI_DIST): Promise<void> {
  const buildError = root === UI_DIST ? await ensureBuilt() : undefined;
  const file = existsSync(root) ? uiFile(root, path) : undefined;
  if (!file) {
    const why = buildError ? `the dashboard could not be built (${buildError}); run \`npm run build\`` : "the dashboard is not built (ui/dist is missing)";
    throw new FlotillaError(ErrorCode.NotFound, why);
  }
  const body = readFileSync(file);
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": body.length, ...HEADERS });
  res.end(body);
}
