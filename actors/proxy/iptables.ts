/**
 * Applies `serviceRules` to the kernel with `iptables-restore --noflush`, touching only the chains
 * that changed since the last sync (kube-proxy's minimal restore): a changed chain is declared
 * (which flushes it) and refilled, a chain no longer wanted is flushed and deleted, and the rest of
 * the host's rules are never touched. `cleanup()` removes every trace when the proxy stops.
 *
 * @example
 *   const k = new KernelServices({ netns: "host-a" });
 *   await k.sync(serviceRules({ services, endpointsOf, node }));
 *   await k.cleanup();
 */
import type { Rules } from "./iptables-rules.ts";
import type { Runner } from "../../runtime/command.ts";
import { commandRunner } from "../../runtime/command.ts";
import { CHAIN, CHAIN_PREFIX, JUMPS } from "./iptables-rules.ts";

/** The chains the proxy owns (other parts of Flotilla own other `FLT-` chains, e.g. the pod network's). */
const OWNED = [...Object.values(CHAIN), ...Object.values(CHAIN_PREFIX)];
const owned = (chain: string) => OWNED.some((c) => chain === c || (c.endsWith("-") && chain.startsWith(c)));

type Table = "nat" | "filter";

/** `-A CHAIN …` lines grouped by chain, per table. */
function parse(restore: string): Record<Table, Map<string, string[]>> {
  const out: Record<Table, Map<string, string[]>> = { nat: new Map(), filter: new Map() };
  let table: Table | undefined;
  for (const line of restore.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1) as Table;
    else if (table && line.startsWith(":")) out[table].set(line.slice(1).split(" ")[0]!, out[table].get(line.slice(1).split(" ")[0]!) ?? []);
    else if (table && line.startsWith("-A ")) {
      const chain = line.split(" ")[1]!;
      const list = out[table].get(chain) ?? [];
      list.push(line);
      out[table].set(chain, list);
    }
  }
  return out;
}

export class KernelServices {
  private readonly run: Runner;
  private applied: Record<Table, Map<string, string>> | undefined;
  /** route_localnet before we set it (restored at cleanup), once set. */
  private localnetBefore: string | undefined;

  constructor(o: { netns?: string; runner?: Runner } = {}) {
    this.run = o.runner ?? commandRunner(o.netns);
  }

  /** Whether this process may program the kernel (root, iptables present). */
  async available(): Promise<boolean> {
    const r = await this.run("iptables", ["-t", "nat", "-S", "OUTPUT"]);
    return r.code === 0;
  }

  /** Our chains that exist now, by table (read from `iptables-save`). */
  private async existing(): Promise<Record<Table, Map<string, string>>> {
    const out: Record<Table, Map<string, string>> = { nat: new Map(), filter: new Map() };
    for (const table of ["nat", "filter"] as const) {
      const r = await this.run("iptables-save", ["-t", table]);
      if (r.code !== 0) throw new Error(`iptables-save -t ${table}: ${r.stderr.trim()}`);
      const rules = new Map<string, string[]>();
      for (const line of r.stdout.split("\n")) {
        if (line.startsWith(":") && owned(line.slice(1).split(" ")[0]!)) rules.set(line.slice(1).split(" ")[0]!, rules.get(line.slice(1).split(" ")[0]!) ?? []);
        else if (line.startsWith("-A ") && owned(line.split(" ")[1]!)) {
          const chain = line.split(" ")[1]!;
          rules.set(chain, [...(rules.get(chain) ?? []), line]);
        }
      }
      for (const [c, l] of rules) out[table].set(c, l.join("\n"));
    }
    return out;
  }

  /** Writes what changed; returns how many chains were rewritten or deleted. */
  async sync(rules: Rules): Promise<number> {
    this.applied ??= await this.existing();
    await this.allowLocalhostNodePorts();
    const want = parse(rules.restore);
    const lines: string[] = [];
    let changed = 0;
    const next: Record<Table, Map<string, string>> = { nat: new Map(), filter: new Map() };
    for (const table of ["filter", "nat"] as const) {
      const have = this.applied[table];
      const body: string[] = [];
      const declare: string[] = [];
      for (const [chain, list] of want[table]) {
        const text = list.join("\n");
        next[table].set(chain, text);
        if (have.get(chain) === text) continue;
        declare.push(`:${chain} - [0:0]`);
        body.push(...list);
        changed++;
      }
      const gone = [...have.keys()].filter((c) => !want[table].has(c));
      for (const c of gone) declare.push(`:${c} - [0:0]`);
      // Deletions last: by then nothing refers to them any more.
      const remove = gone.map((c) => `-X ${c}`);
      changed += gone.length;
      if (declare.length) lines.push(`*${table}`, ...declare, ...body, ...remove, "COMMIT");
    }
    if (lines.length) {
      const r = await this.run("iptables-restore", ["--noflush", "-w", "5"], lines.join("\n") + "\n");
      if (r.code !== 0) {
        this.applied = undefined; // re-read the truth next time
        throw new Error(`iptables-restore: ${r.stderr.trim()}`);
      }
    }
    this.applied = next;
    await this.ensureJumps();
    return changed;
  }

  /** The jumps from the built-in chains into ours (checked each sync: another program may flush them). */
  private async ensureJumps(): Promise<void> {
    for (const [table, chain, ...rule] of JUMPS) {
      const has = await this.run("iptables", ["-w", "5", "-t", table, "-C", chain, ...rule]);
      if (has.code === 0) continue;
      const r = await this.run("iptables", ["-w", "5", "-t", table, "-I", chain, "1", ...rule]);
      if (r.code !== 0) throw new Error(`iptables -t ${table} -I ${chain}: ${r.stderr.trim()}`);
    }
  }

  /**
   * NodePorts answer on 127.0.0.1 too (as kube-proxy's localhost NodePorts): DNAT from a loopback
   * address to a pod needs `route_localnet` (the FLT-EXT chain masquerades the source).
   */
  private async allowLocalhostNodePorts(): Promise<void> {
    if (this.localnetBefore !== undefined) return;
    const r = await this.run("sysctl", ["-n", "net.ipv4.conf.all.route_localnet"]);
    if (r.code !== 0) return;
    this.localnetBefore = r.stdout.trim();
    if (this.localnetBefore !== "1") await this.run("sysctl", ["-qw", "net.ipv4.conf.all.route_localnet=1"]);
  }

  /** Removes the jumps and every chain Flotilla owns. */
  async cleanup(): Promise<void> {
    if (this.localnetBefore !== undefined && this.localnetBefore !== "1") await this.run("sysctl", ["-qw", `net.ipv4.conf.all.route_localnet=${this.localnetBefore}`]);
    this.localnetBefore = undefined;
    for (const [table, chain, ...rule] of JUMPS) {
      while ((await this.run("iptables", ["-w", "5", "-t", table, "-D", chain, ...rule])).code === 0);
    }
    const have = await this.existing();
    for (const table of ["filter", "nat"] as const) {
      const chains = [...have[table].keys()];
      if (chains.length === 0) continue;
      const payload = [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), "COMMIT", ""].join("\n");
      await this.run("iptables-restore", ["--noflush", "-w", "5"], payload);
    }
    this.applied = undefined;
  }
}

export { CHAIN };
