/**
 * Builds the dashboard: ui/src (Preact + TSX) → ui/dist/{index.html, app.js, app.css} with esbuild.
 * `node scripts/build-ui.mjs` builds once; the api-server calls `ensureUiBuilt()` on its first
 * /ui/ request, which builds only when ui/dist is missing or older than ui/src.
 * Files are written to a temporary name and renamed, so a concurrent reader never sees half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const UI_SRC = join(ROOT, "ui", "src");
export const UI_OUT = join(ROOT, "ui", "dist");

/** The newest mtime (ms) under a directory, or -1 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return -1;
  let max = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Whether `out` lacks a build or is older than `src` (false when there are no sources to build from). */
export function needsBuild(src = UI_SRC, out = UI_OUT) {
  if (!existsSync(join(src, "main.tsx"))) return false;
  const index = join(out, "index.html");
  if (!existsSync(index) || !existsSync(join(out, "app.js"))) return true;
  return newest(src) > statSync(index).mtimeMs;
}

function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** Bundles the dashboard into `out`. Returns the files written. */
export async function buildUi({ src = UI_SRC, out = UI_OUT, minify = true } = {}) {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: { app: join(src, "main.tsx") },
    bundle: true,
    write: false,
    outdir: out,
    format: "esm",
    target: ["chrome110", "firefox110", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify,
    sourcemap: false,
    legalComments: "none",
    logLevel: "silent",
  });
  mkdirSync(out, { recursive: true });
  const written = [];
  for (const f of result.outputFiles) {
    writeAtomic(f.path, f.contents);
    written.push(basename(f.path));
  }
  // index.html last: its mtime marks the build as complete.
  writeAtomic(join(out, "index.html"), readFileSync(join(src, "index.html")));
  written.push("index.html");
  return written;
}

let pending;
/** Builds once per process when needed; resolves to whether ui/dist can be served. */
export function ensureUiBuilt() {
  pending ??= (async () => {
    if (needsBuild()) await buildUi();
    return existsSync(join(UI_OUT, "index.html"));
  })().catch((e) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const files = await buildUi();
  process.stdout.write(`ui/dist: ${files.join(", ")} (${Date.now() - t0} ms)\n`);
}
