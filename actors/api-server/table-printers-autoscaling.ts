/** The HorizontalPodAutoscaler Table, as kube-apiserver 1.32 prints it (`kubectl get hpa`). */
import type { Printer } from "./table-kit.ts";
import type { HorizontalPodAutoscaler } from "../../bus/hpa.ts";
import { col, NAME, AGE, age } from "./table-kit.ts";

/** `cpu: 42%/50%, memory: <unknown>/100Mi + 1 more...` (printers.go formatHPAMetrics). */
export function formatHpaMetrics(h: HorizontalPodAutoscaler): string {
  const specs = h.spec.metrics ?? [];
  if (specs.length === 0) return "<none>";
  const statuses = h.status?.currentMetrics ?? [];
  const list: string[] = [];
  let count = 0;
  let more = false;
  for (const s of specs) {
    if (s.type === "Resource" && s.resource) {
      const name = s.resource.name;
      const cur = statuses.find((x) => x.type === "Resource" && x.resource?.name === name)?.resource.current;
      if (s.resource.target.averageValue !== undefined) list.push(`${name}: ${cur?.averageValue ?? "<unknown>"}/${s.resource.target.averageValue}`);
      else {
        const target = s.resource.target.averageUtilization !== undefined ? `${s.resource.target.averageUtilization}%` : "<auto>";
        list.push(`${name}: ${cur?.averageUtilization !== undefined ? `${cur.averageUtilization}%` : "<unknown>"}/${target}`);
      }
    } else list.push(`<unknown>/<unknown>`);
    if (list.length > 2) {
      list.length = 2;
      more = true;
      break;
    }
    count++;
  }
  return more ? `${list.join(", ")} + ${specs.length - count} more...` : list.join(", ");
}

export const AUTOSCALING_PRINTERS: Record<string, Printer> = {
  horizontalpodautoscalers: {
    columns: [
      NAME,
      col("Reference", "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
      col("Targets", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
      col("MinPods", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
      col("MaxPods", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.", { type: "integer" }),
      col("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.", { type: "integer" }),
      AGE,
    ],
    cells: (o, now) => {
      const h = o as HorizontalPodAutoscaler;
      return [
        o.metadata.name ?? "",
        `${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`,
        formatHpaMetrics(h),
        h.spec.minReplicas !== undefined ? String(h.spec.minReplicas) : "<unset>",
        h.spec.maxReplicas,
        h.status?.currentReplicas ?? 0,
        age(o, now),
      ];
    },
  },
};
