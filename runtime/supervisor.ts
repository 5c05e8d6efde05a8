/**
 * Keeps one actor instance running: a start that fails, or an instance that reports a crash, is
 * stopped and started again after a capped exponential back-off, with a log line each time.
 */
import type { Actor } from "./actor.ts";
import type { Logger } from "./logger.ts";

export interface SupervisorOptions {
  start: (crash: (e: unknown) => void, signal: AbortSignal) => Promise<Actor>;
  log: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** An instance that ran this long resets the back-off. */
  stableMs?: number;
  /** How long a crashed instance may take to stop before the next one starts anyway. */
  stopTimeoutMs?: number;
  /**
   * True while the instance is being taken down on purpose, before `stop()` is called (a leader's
   * term has ended): a failure then is part of that stop (its fenced writes are refused), not a crash.
   */
  ending?: () => boolean;
}

export class Supervisor {
  private current?: Actor;
  private abort?: AbortController;
  private stopped = false;
  private restarts = 0;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly o: SupervisorOptions) {}

  get restartCount(): number {
    return this.restarts;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.launch();
  }

  private async launch(): Promise<void> {
    if (this.stopped) return;
    const abort = new AbortController();
    this.abort = abort;
    let crashed = false;
    const crash = (e: unknown) => {
      if (crashed || abort.signal.aborted || this.stopped) return;
      if (this.o.ending?.()) {
        this.o.log.info("actor failed as it was being stopped; not restarted", { error: e instanceof Error ? e.message : String(e) });
        return;
      }
      crashed = true;
      void this.restart(e);
    };
    this.startedAt = Date.now();
    const p = (async () => {
      try {
        this.current = await this.o.start(crash, abort.signal);
      } catch (e) {
        crash(e);
      }
    })();
    this.running = p;
    await p;
  }

  private async restart(e: unknown): Promise<void> {
    const prev = this.current;
    this.current = undefined;
    this.abort?.abort();
    // A crashed instance may not stop cleanly, or at all: give it a bounded time.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => prev?.stop())().catch(() => undefined),
      new Promise<void>((r) => {
        timer = setTimeout(r, this.o.stopTimeoutMs ?? 10_000);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (this.stopped) return;
    if (Date.now() - this.startedAt > (this.o.stableMs ?? 60_000)) this.restarts = 0;
    this.restarts++;
    const delay = Math.min(this.o.maxDelayMs ?? 30_000, (this.o.baseDelayMs ?? 200) * 2 ** (this.restarts - 1));
    this.o.log.error("actor crashed; restarting", { error: e instanceof Error ? e.message : String(e), restart: this.restarts, delayMs: delay });
    this.timer = setTimeout(() => void this.launch(), delay);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.abort?.abort();
    const c = this.current;
    this.current = undefined;
    await c?.stop();
  }
}
