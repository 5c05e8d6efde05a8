/**
 * The shape of a benchmark run: figures, each beside the number it is compared with (its anchor:
 * a peer, a published SLO, the layer underneath) and the number we aim for (our goal). No runtime
 * code here.
 */

/** Which direction is good for a figure. */
export const Better = { lower: "lower", higher: "higher" } as const;
export type Better = (typeof Better)[keyof typeof Better];

export const Mode = { quick: "quick", full: "full" } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** A number to compare with, in the figure's own unit. */
export interface Reference {
  value: number;
  /** What the number is, e.g. "raw KV put", "Kubernetes p99 SLO", "Docker Swarm". */
  label: string;
  /**
   * Where a published number comes from (a document, a config file, a default). Absent: the
   * number was measured in the same run as the figure. Ratios to published numbers are shown
   * apart from same-run ratios.
   */
  published?: string;
}

export interface Figure {
  /** Stable id, e.g. "store.create.c1.p99". */
  id: string;
  /** The table section, e.g. "Store", "Scheduler". */
  section: string;
  label: string;
  /** undefined: not measured in this run (see note). */
  value?: number;
  /** "ms", "s", "MB", "/s", "×" … */
  unit: string;
  better: Better;
  anchor?: Reference;
  goal?: Reference;
  note?: string;
  /** The value is an estimate from a partial measurement (the note says how), not a measurement. */
  extrapolated?: boolean;
}

/** One benchmark's outcome, as a child process reports it. */
export interface BenchOutcome {
  name: string;
  ok: boolean;
  seconds: number;
  figures: Figure[];
  error?: string;
  /** Peak RSS of the benchmark's own process. */
  maxRssMb?: number;
}

export interface BenchResults {
  startedAt: string;
  mode: Mode;
  host: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  seconds: number;
  benches: BenchOutcome[];
}
