/**
 * Controller expectations (client-go's UIDTrackingControllerExpectations): after asking for N
 * creates or some deletes, a controller waits until its informer has seen them before it counts
 * pods again, so a slow watch never makes it create or delete twice. Expectations expire after
 * `ttlMs` so a lost event cannot wedge a key forever. The clock is injected.
 */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Entry {
  creates: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly entries = new Map<string, Entry>();
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = EXPECTATIONS_TTL_MS,
  ) {}

  /** Records what one pass asked for (replaces the key's previous expectations). */
  expect(key: string, creates: number, deleteUids: readonly string[]): void {
    if (creates <= 0 && deleteUids.length === 0) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { creates, deletes: new Set(deleteUids), at: this.now() });
  }
  /** A create that failed (or was skipped by slow start) will never be observed. */
  lowerCreates(key: string, n: number): void {
    const e = this.entries.get(key);
    if (e) e.creates = Math.max(0, e.creates - n);
  }
  creationObserved(key: string): void {
    const e = this.entries.get(key);
    if (e && e.creates > 0) e.creates--;
  }
  deletionObserved(key: string, uid: string): void {
    this.entries.get(key)?.deletes.delete(uid);
  }
  /** Uids whose deletion was asked for and not observed yet. */
  pendingDeletes(key: string): ReadonlySet<string> {
    return this.entries.get(key)?.deletes ?? new Set();
  }
  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return true;
    if (e.creates <= 0 && e.deletes.size === 0) return true;
    return this.now() - e.at > this.ttlMs;
  }
  forget(key: string): void {
    this.entries.delete(key);
  }
}
