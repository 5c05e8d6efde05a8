/**
 * Retries a step while a NATS cluster settles (elections, routes coming up, streams moving to other
 * servers): a JetStream request may time out or find no leader for a few seconds. `retryIf` picks
 * the errors worth another try (default: every one); any other is thrown at once.
 *
 * @example
 *   const kv = await settle("opening the registry", () => openRegistry(nc, cluster));
 */
export async function settle<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000, retryIf: (e: unknown) => boolean = () => true): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!retryIf(e)) throw e;
      if (Date.now() > deadline) throw new Error(`${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
