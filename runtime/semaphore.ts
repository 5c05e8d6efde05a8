/**
 * At most `limit` async operations at once; the rest wait in arrival order. A limit of 0 or less
 * means no limit.
 *
 * @example
 *   const starts = new Semaphore(4);
 *   await starts.run(() => docker.createContainer(…));   // the fifth waits for one of the first four
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Operations running now. */
  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.limit > 0 && this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter (active stays the same), or is freed.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
