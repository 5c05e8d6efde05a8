/**
 * A benchmark module run as a program (`node --import tsx bench/<name>.ts …`): runs `bench`, prints
 * its result as one line of JSON and exits 0, or prints the error and exits 1.
 *
 * @example
 *   runAsMain(import.meta.url, () => benchDns({ seconds: 5 }));
 */
import { fileURLToPath } from "node:url";

export function runAsMain(moduleUrl: string, bench: () => Promise<unknown>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  bench().then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
