/**
 * The CRI container log format, as containerd writes it: one entry per line,
 * `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`, where P (partial) entries are pieces of one
 * long line that the next entries continue until an F (full) one ends it. The decoder turns a
 * stream of such text into what `kubectl logs` shows, optionally with each line's time in front.
 *
 * @example
 *   const d = new CriLogDecoder({ timestamps: false });
 *   d.push("2024-01-01T00:00:00.1Z stdout P hel") + d.push("lo\n2024-01-01T00:00:00.2Z stdout F lo\n"); // "hello\n"
 */

export interface CriLogEntry {
  time: string;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

/** One line of a CRI log (without its newline); undefined when it is not in that format. */
export function parseCriLogLine(line: string): CriLogEntry | undefined {
  const m = /^(\S+) (stdout|stderr) (F|P)(?: (.*))?$/s.exec(line);
  if (!m) return undefined;
  return { time: m[1]!, stream: m[2] as CriLogEntry["stream"], partial: m[3] === "P", text: m[4] ?? "" };
}

export interface DecoderOptions {
  timestamps?: boolean;
  /** Only lines logged at or after this time (ms since the epoch). */
  sinceMs?: number;
}

/** Stateful: keeps an unfinished file line and an unfinished (partial) log line between pushes. */
export class CriLogDecoder {
  private buf = "";
  private line = "";
  private lineTime = "";

  constructor(private readonly o: DecoderOptions = {}) {}

  /** Feeds raw file text; returns the complete log lines it finished. */
  push(chunk: string): string {
    this.buf += chunk;
    let out = "";
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const raw = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const e = parseCriLogLine(raw);
      if (!e) continue;
      if (this.line === "") this.lineTime = e.time;
      this.line += e.text;
      if (!e.partial) out += this.take("\n");
    }
    return out;
  }

  /** What is left once the writer is gone: an unfinished line, without a newline. */
  flush(): string {
    return this.line ? this.take("") : "";
  }

  private take(end: string): string {
    const text = this.line;
    const time = this.lineTime;
    this.line = "";
    if (this.o.sinceMs !== undefined && Date.parse(time) < this.o.sinceMs) return "";
    return `${this.o.timestamps ? `${time} ` : ""}${text}${end}`;
  }
}
