/** IPv4 addresses and CIDR blocks as numbers: the one place their arithmetic is written. */

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}
export function isIPv4(s: string): boolean {
  return /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split(".").every((o) => Number(o) <= 255);
}

export interface Cidr {
  /** The network address as a number. */
  base: number;
  /** Number of addresses in the block. */
  size: number;
  prefix: number;
}

/** `10.244.1.0/24` → its block; throws on anything else. */
export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new Error(`invalid CIDR "${cidr}"`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = prefix === 0 ? 0 : (ipToInt(m[1]!) & ((0xffffffff << (32 - prefix)) >>> 0)) >>> 0;
  return { base, size, prefix };
}
export const formatCidr = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;

export function inCidr(ip: string, cidr: string | Cidr): boolean {
  const c = typeof cidr === "string" ? parseCidr(cidr) : cidr;
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

/** The i-th block of `/prefix` inside `cidr` (e.g. the i-th /24 of 10.244.0.0/16), or undefined past the end. */
export function subnet(cidr: string, prefix: number, i: number): string | undefined {
  const c = parseCidr(cidr);
  const size = 2 ** (32 - prefix);
  if (prefix < c.prefix || i < 0 || (i + 1) * size > c.size) return undefined;
  return formatCidr({ base: c.base + i * size, size, prefix });
}

/** The n-th address of a block (1 = the first host address, the gateway by convention). */
export const nthAddress = (cidr: string, n: number): string => intToIp(parseCidr(cidr).base + n);
