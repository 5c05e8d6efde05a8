/**
 * What a benchmark tells the harness while it runs: progress (0…1, drawn as the bar) and, at the
 * end, its figures. Written as JSON lines to fd 3 when the harness opened it, else to stdout.
 */
import { writeSync, fstatSync } from "node:fs";
import type { Figure } from "../report/types.ts";

export type ChildMessage = { type: "progress"; fraction: number; what: string } | { type: "result"; figures: Figure[]; maxRssMb: number };

let fd: number | undefined;
function out(): number {
  if (fd !== undefined) return fd;
  try {
    fstatSync(3);
    fd = 3;
  } catch {
    fd = 1;
  }
  return fd;
}

export function send(m: ChildMessage): void {
  writeSync(out(), JSON.stringify(m) + "\n");
}

export function progress(fraction: number, what: string): void {
  send({ type: "progress", fraction: Math.max(0, Math.min(1, fraction)), what });
}
