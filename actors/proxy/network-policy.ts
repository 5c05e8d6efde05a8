/**
 * The `network-policy` actor (one per node, root, pod network): enforces NetworkPolicies in the
 * kernel for the pods in this node's network namespaces. Informers on NetworkPolicies, Pods and
 * Namespaces feed `policyRules` (network-policy-rules.ts, pure); each change rewrites Flotilla's
 * policy chains in one `iptables-restore --noflush` (atomic: no moment without rules), and keeps
 * the jump from FORWARD in place. Stopping removes every chain and the jump.
 *
 * @example
 *   await startHost({ natsUrl, actors: [{ def: networkPolicy, opts: { nodeName: "node-1" } }] });
 */
import type { ActorContext, ActorDefinition, Actor } from "../../runtime/actor.ts";
import type { Namespace, Pod } from "../../bus/resources.ts";
import type { NetworkPolicy } from "../../bus/networking.ts";
import type { PolicyRules } from "./network-policy-rules.ts";
import type { Runner } from "../../runtime/command.ts";
import { commandRunner } from "../../runtime/command.ts";
import { Informer } from "../../runtime/informer.ts";
import { WorkQueue } from "../../runtime/workqueue.ts";
import { policyRules, NETPOL_CHAIN, NETPOL_JUMP, NETPOL_PREFIXES } from "./network-policy-rules.ts";

const ours = (chain: string) => chain === NETPOL_CHAIN || NETPOL_PREFIXES.some((p) => chain.startsWith(p));

/** Applies policy rules to the filter table of one network namespace (default the current one). */
export class KernelPolicies {
  private readonly run: Runner;
  private applied: string | undefined;
  constructor(o: { netns?: string; runner?: Runner } = {}) {
    this.run = o.runner ?? commandRunner(o.netns);
  }

  private async existing(): Promise<string[]> {
    const r = await this.run("iptables-save", ["-t", "filter"]);
    if (r.code !== 0) throw new Error(`iptables-save: ${r.stderr.trim()}`);
    return r.stdout.split("\n").filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0]!).filter(ours);
  }

  /** Rewrites our chains when they changed, and puts the jump from FORWARD back when it is gone. */
  async sync(rules: PolicyRules): Promise<void> {
    if (this.applied !== rules.restore) {
      const gone = (await this.existing()).filter((c) => !rules.chains.includes(c));
      // Declaring a chain flushes it; chains no longer wanted are flushed, then deleted.
      const body = rules.restore.replace(/COMMIT\n?$/, "");
      const payload = `${body.replace("*filter\n", `*filter\n${gone.map((c) => `:${c} - [0:0]\n`).join("")}`)}${gone.map((c) => `-X ${c}\n`).join("")}COMMIT\n`;
      const r = await this.run("iptables-restore", ["--noflush", "-w", "5"], payload);
      if (r.code !== 0) throw new Error(`iptables-restore: ${r.stderr.trim()}`);
      this.applied = rules.restore;
    }
    const [table, chain, ...rule] = NETPOL_JUMP;
    if ((await this.run("iptables", ["-w", "5", "-t", table, "-C", chain, ...rule])).code !== 0) {
      const r = await this.run("iptables", ["-w", "5", "-t", table, "-I", chain, "1", ...rule]);
      if (r.code !== 0) throw new Error(`iptables -I ${chain}: ${r.stderr.trim()}`);
    }
  }

  /** Removes the jump and every policy chain. */
  async cleanup(): Promise<void> {
    const [table, chain, ...rule] = NETPOL_JUMP;
    while ((await this.run("iptables", ["-w", "5", "-t", table, "-D", chain, ...rule])).code === 0);
    const chains = await this.existing();
    if (chains.length) await this.run("iptables-restore", ["--noflush", "-w", "5"], ["*filter", ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), "COMMIT", ""].join("\n"));
    this.applied = undefined;
  }
}

export interface NetworkPolicyOptions {
  nodeName: string;
  /**
   * Every node whose pods share this network namespace's FORWARD chain (`flotilla up` runs its
   * nodes in one): one actor must enforce for all of them, as each rewrites the whole chain.
   * Default: `[nodeName]`.
   */
  nodes?: string[];
  /** Program the rules inside this network namespace (test hosts); default the current one. */
  netns?: string;
}

const SYNC = "sync";

export async function startNetworkPolicy(ctx: ActorContext, opts: NetworkPolicyOptions): Promise<Actor> {
  const log = ctx.log.child({ node: opts.nodeName });
  const inf = <T extends NetworkPolicy | Pod | Namespace>(resource: string) => new Informer<T>(ctx.nc, ctx.cluster, { resource, log: log.child({ informer: resource }) });
  const policies = inf<NetworkPolicy>("networkpolicies");
  const pods = inf<Pod>("pods");
  const namespaces = inf<Namespace>("namespaces");
  const kernel = new KernelPolicies({ netns: opts.netns });
  const local = new Set(opts.nodes ?? [opts.nodeName]);
  const sync = async () => {
    const rules = policyRules({ policies: policies.list(), pods: pods.list(), namespaces: namespaces.list(), isLocal: (p) => local.has(p.spec.nodeName ?? "") });
    await kernel.sync(rules);
  };
  const queue = new WorkQueue(sync, { log, baseDelayMs: 100, maxDelayMs: 5000 });
  const poke = () => queue.add(SYNC);
  for (const i of [policies, pods, namespaces] as Informer[]) i.addHandlers({ add: poke, update: poke, delete: poke });
  await Promise.all([policies.start(), pods.start(), namespaces.start()]);
  queue.add(SYNC);
  await queue.idle();
  return {
    async stop() {
      for (const i of [policies, pods, namespaces] as Informer[]) i.stop();
      await queue.shutdown();
      await kernel.cleanup().catch((e) => log.warn("could not remove network policy rules", { error: String(e) }));
    },
  };
}

export const networkPolicy: ActorDefinition<NetworkPolicyOptions> = {
  kind: "network-policy",
  identity: (o) => ({ role: "node", node: o.nodeName }),
  start: startNetworkPolicy,
};
