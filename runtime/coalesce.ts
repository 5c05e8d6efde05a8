/**
 * Many callers, few calls: concurrent `get()`s share one call of `fn`, and every caller gets the
 * result of a call that *started after it asked* (so it sees everything that changed before). A
 * caller that arrives while a call is on its way waits for the next one, which all such callers
 * share. Used for listings that many workers ask for at once (the Docker engine's container list).
 *
 * @example
 *   const list = new Coalesced(() => docker.listContainers({ all: true }));
 *   await Promise.all([list.get(), list.get(), list.get()]);   // one or two calls, never three
 */
export class Coalesced<T> {
  private running?: Promise<T>;
  private next?: Promise<T>;
  /** Calls of `fn` made so far. */
  calls = 0;

  constructor(private readonly fn: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.running) return this.start();
    // The call on its way may have been sent before what this caller changed: wait for the next one.
    this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  private startNext(): Promise<T> {
    this.next = undefined;
    return this.start();
  }

  private start(): Promise<T> {
    this.calls++;
    const p = this.fn();
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}
