/**
 * Pieces of the machine some specs need (a Docker engine, chromium, the Python client). Outside CI
 * a spec whose piece is missing is skipped with the reason printed; under `CI=true` it fails — CI
 * installs everything (.ci/run), so a missing or slow piece there is a broken run, never a quiet
 * skip. The root hooks (root-hooks.ts) also fail a CI run in which any test ended up pending.
 *
 * @example
 *   before(async function () {
 *     await requireDocker(this);
 *   });
 */
import type { Context } from "mocha";
import { existsSync } from "node:fs";
import Docker from "dockerode";

/** True when the CI environment variable says so (any value but "", "0" and "false"). */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "0" && v !== "false";
}

/** How long a Docker ping may take before the engine counts as missing: generous, the machine may be busy. */
export const DOCKER_PING_TIMEOUT_MS = underCI() ? 60_000 : 10_000;

/** Skips (outside CI, printing why) or fails (under CI) the calling hook or test. */
export function unavailable(ctx: Context, what: string, reason: string): never {
  if (underCI()) throw new Error(`${what} is required under CI=true: ${reason}`);
  console.log(`    (skipped: ${what} — ${reason})`);
  ctx.skip();
}

/** Pings the local Docker engine; why it does not answer, or undefined when it does. */
export async function dockerProblem(timeoutMs = DOCKER_PING_TIMEOUT_MS): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Docker().ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to /_ping in ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/** The Docker engine, or skip/fail (see above). */
export async function requireDocker(ctx: Context): Promise<void> {
  // The ping may take longer than the hook's own timeout allows.
  ctx.timeout(Math.max(ctx.timeout(), DOCKER_PING_TIMEOUT_MS + 30_000));
  const problem = await dockerProblem();
  if (problem) unavailable(ctx, "a Docker engine", `${problem} (start one: dockerd --live-restore)`);
}

/** An executable file, or skip/fail (see above); `install` says how to get it. */
export function requireExecutable(ctx: Context, path: string, install: string): void {
  if (!existsSync(path)) unavailable(ctx, path, `missing: ${install}`);
}

/** What a private containerd with the CRI plugin and the CNI plugins needs; why it cannot run, or undefined. */
export function containerdProblem(): string | undefined {
  const need: [string, string][] = [
    ["/usr/bin/containerd", "containerd"],
    ["/usr/bin/ctr", "containerd"],
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/lib/cni/host-local", "containernetworking-plugins"],
    ["/usr/lib/cni/loopback", "containernetworking-plugins"],
  ];
  const missing = need.filter(([p]) => !existsSync(p));
  if (missing.length) return `missing ${missing.map(([p]) => p).join(", ")}: apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "a private containerd needs root";
  return undefined;
}

/** containerd and the CNI plugins (a private containerd for the cri engine), or skip/fail (see above). */
export function requireContainerd(ctx: Context): void {
  const problem = containerdProblem();
  if (problem) unavailable(ctx, "containerd with the CNI plugins", problem);
}
