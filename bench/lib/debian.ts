/**
 * A Debian package a benchmark needs (etcd-server, dnsmasq, dnsperf): installed with apt-get when
 * its binary is missing and this runs as root, so a fresh machine measures every row. Returns why
 * not, when it could not.
 *
 * @example
 *   const why = ensureDebianPackage("dnsperf", "dnsperf");   // undefined: it is there now
 */
import { spawnSync } from "node:child_process";

export const hasBinary = (bin: string): boolean => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

export function ensureDebianPackage(bin: string, pkg: string): string | undefined {
  if (hasBinary(bin)) return undefined;
  if (process.getuid?.() !== 0) return `no ${bin} binary, and not root to install it (apt-get install ${pkg})`;
  const install = `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg} >/dev/null 2>&1`;
  const apt = spawnSync("sh", ["-c", `${install} || (apt-get update -qq >/dev/null 2>&1 && ${install})`], { stdio: "ignore" });
  return hasBinary(bin) ? undefined : `installing ${pkg} failed (apt-get exit ${apt.status})`;
}
