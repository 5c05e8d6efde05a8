/**
 * A separate process hosting the workload controllers, for specs that SIGKILL a leader:
 *   node --import tsx specs/harness/controller-host.ts <natsUrl> <cluster> <leaseDurationMs>
 * Prints "ready" on stdout once its actors are started.
 */
import { startHost } from "../../runtime/host.ts";
import { replicationController } from "../../actors/replication-controller/index.ts";
import { deploymentController } from "../../actors/deployment-controller/index.ts";

const [url, cluster, lease] = process.argv.slice(2);
process.env.FLOTILLA_LOG ??= "warn";
await startHost({
  natsUrl: url!,
  cluster: cluster!,
  leaseDurationMs: Number(lease ?? 2000),
  handleSignals: true,
  actors: [{ def: deploymentController }, { def: replicationController }],
});
process.stdout.write("ready\n");
