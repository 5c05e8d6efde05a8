/** Splits a byte stream of newline-delimited JSON into lines. Pure apart from its own buffer. */
export class LineSplitter {
  private rest = "";

  /** The complete, non-blank lines in `chunk` (plus what was left over from the previous one). */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split("\n");
    this.rest = parts.pop() ?? "";
    return parts.map((l) => l.trim()).filter((l) => l !== "");
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): string[] {
    const last = this.rest.trim();
    this.rest = "";
    return last === "" ? [] : [last];
  }
}
