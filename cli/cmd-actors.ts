/** `flotilla get actors`: every live actor answers `actors.ping` — KIND ID HOST LEADER UPTIME VERSION. */
import type { PresenceInfo } from "../runtime/host.ts";
import { pingActors } from "../runtime/host.ts";
import { humanDuration } from "../actors/api-server/human-duration.ts";
import { natsTarget, connectCli, type NatsFlags } from "./context.ts";
import { formatColumns, formatJson, formatYaml } from "./print.ts";

/** Rows of the actors table; LEADER is yes/no for leader-elected kinds and - for the others. */
export function actorRows(actors: PresenceInfo[]): string[][] {
  return actors.map((a) => [a.kind, a.id, `${a.host}:${a.pid}`, a.leader === null ? "-" : a.leader ? "yes" : "no", humanDuration(a.uptimeSeconds * 1000), a.version]);
}

export async function listActors(f: NatsFlags, waitMs = 500): Promise<PresenceInfo[]> {
  const { url, cluster, creds } = natsTarget(f);
  const nc = await connectCli(url, "flotilla-cli", creds);
  try {
    return await pingActors(nc, cluster, waitMs);
  } finally {
    await nc.close();
  }
}

export async function printActors(f: NatsFlags & { output?: string }): Promise<void> {
  const actors = await listActors(f);
  if (f.output === "json") return void process.stdout.write(formatJson(actors));
  if (f.output === "yaml") return void process.stdout.write(formatYaml(actors));
  if (actors.length === 0) return void process.stderr.write("No actors answered.\n");
  process.stdout.write(formatColumns(["KIND", "ID", "HOST", "LEADER", "UPTIME", "VERSION"], actorRows(actors)));
}
