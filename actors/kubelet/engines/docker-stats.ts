/**
 * Container usage from Docker's stats endpoint: one non-streaming, one-shot call per running
 * container (`GET /containers/<id>/stats?stream=false&one-shot=true`, API 1.41 / Docker 20.10), so
 * no stats stream is kept open per container and no call waits for a second sample. Working set =
 * `memory_stats.usage` minus inactive file pages (`total_inactive_file` on cgroup v1,
 * `inactive_file` on v2), as cAdvisor and `docker stats` compute it.
 */
import type Docker from "dockerode";
import type { ContainerUsage, EngineContainer } from "./types.ts";

interface DockerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/** Working set and cpu of one stats answer. Pure. */
export function usageOfDockerStats(s: DockerStats): { cpuUsageNanos: number; memoryWorkingSetBytes: number } | undefined {
  const cpu = s.cpu_stats?.cpu_usage?.total_usage;
  const mem = s.memory_stats?.usage;
  if (typeof cpu !== "number" || typeof mem !== "number") return undefined;
  const st = s.memory_stats?.stats ?? {};
  const inactive = st.total_inactive_file ?? st.inactive_file ?? 0;
  return { cpuUsageNanos: cpu, memoryWorkingSetBytes: Math.max(0, mem - inactive) };
}

export async function dockerStats(docker: Docker, containers: EngineContainer[]): Promise<ContainerUsage[]> {
  const running = containers.filter((c) => c.state === "running");
  const out = await Promise.all(
    running.map(async (c): Promise<ContainerUsage | undefined> => {
      const s = (await docker
        .getContainer(c.id)
        .stats({ stream: false, "one-shot": true } as { stream: false })
        .catch(() => undefined)) as DockerStats | undefined;
      const u = s && usageOfDockerStats(s);
      if (!u) return undefined;
      const at = s.read && !s.read.startsWith("0001") ? Date.parse(s.read) : Date.now();
      return { id: c.id, pod: c.pod, name: c.name, ...u, at: Number.isNaN(at) ? Date.now() : at };
    }),
  );
  return out.filter((u): u is ContainerUsage => u !== undefined);
}
