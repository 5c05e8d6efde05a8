/** Log helpers shared by engines: tail, timestamps and following a growing file. */
import { open } from "node:fs/promises";

/** The last `n` lines of `text` (all when n is undefined). */
export function tailText(text: string, n: number | undefined): string {
  if (n === undefined || n < 0) return text;
  if (n === 0) return "";
  const lines = text.split("\n");
  const trailing = lines[lines.length - 1] === "" ? lines.pop() : undefined;
  const out = lines.slice(-n).join("\n");
  return trailing !== undefined ? `${out}\n` : out;
}

/** Prefixes every line with an RFC3339Nano-style timestamp (`kubectl logs --timestamps`). */
export function stampLines(text: string, at: Date): string {
  const ts = at.toISOString().replace(/Z$/, "000000Z");
  return text.replace(/^(?=.)/gm, `${ts} `);
}

/**
 * Follows a file from `offset`: yields appended text until `done()` says the writer is gone and
 * everything was read, or until cancelled.
 */
export function followFile(path: string, offset: number, done: () => boolean, pollMs = 100): { chunks: AsyncIterable<string>; cancel(): void } {
  let cancelled = false;
  let wake: (() => void) | undefined;
  const sleep = () => new Promise<void>((r) => {
    const t = setTimeout(r, pollMs);
    wake = () => (clearTimeout(t), r());
  });
  return {
    cancel() {
      cancelled = true;
      wake?.();
    },
    chunks: (async function* () {
      const fh = await open(path, "r");
      let pos = offset;
      try {
        while (!cancelled) {
          const { size } = await fh.stat();
          if (size > pos) {
            const buf = Buffer.alloc(size - pos);
            await fh.read(buf, 0, buf.length, pos);
            pos = size;
            yield buf.toString("utf8");
            continue;
          }
          if (done()) break;
          await sleep();
        }
      } finally {
        await fh.close();
      }
    })(),
  };
}
