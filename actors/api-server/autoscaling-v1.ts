/**
 * autoscaling/v1 HorizontalPodAutoscalers: the same stored objects (autoscaling/v2), seen through
 * the v1 shape (`targetCPUUtilizationPercentage`, `currentCPUUtilizationPercentage`; bus/hpa.ts).
 * kubectl 1.32's `kubectl autoscale` creates v1 HPAs. Served: get, list (Tables too), create,
 * update (v2-only fields of the stored object — other metrics, behavior — are kept) and delete.
 * Watch and patch are served on autoscaling/v2 only (405 here).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject } from "../../bus/resources.ts";
import type { HorizontalPodAutoscaler } from "../../bus/hpa.ts";
import type { HandlerDeps } from "./handlers.ts";
import type { ResourceRoute } from "./routes.ts";
import { resourceType } from "../../bus/kinds.ts";
import { ErrorCode, FlotillaError } from "../../bus/errors.ts";
import { hpaFromV1, hpaToV1 } from "../../bus/hpa.ts";
import { readBody, parseBody, sendJson, wantsTable } from "./http.ts";
import { handleDelete, handleGet, handleList, isDryRun } from "./handlers.ts";
import { listOptions } from "./list-options.ts";

const RESOURCE = "horizontalpodautoscalers";

function bodyOf(route: ResourceRoute, raw: unknown): KubeObject {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new FlotillaError(ErrorCode.BadRequest, "the request body must be a JSON object");
  const o = raw as KubeObject;
  if ((o.apiVersion ?? "autoscaling/v1") !== "autoscaling/v1" || (o.kind ?? "HorizontalPodAutoscaler") !== "HorizontalPodAutoscaler") {
    throw new FlotillaError(ErrorCode.BadRequest, `the API version in the data (${o.apiVersion}) does not match the expected API version (autoscaling/v1)`);
  }
  return { ...o, metadata: { ...(o.metadata ?? {}), ...(route.namespace ? { namespace: route.namespace } : {}) } };
}

export async function handleHpaV1(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, q: URLSearchParams): Promise<void> {
  const v2route: ResourceRoute = { ...route, rt: resourceType(RESOURCE)! };
  switch (route.verb) {
    case "get": {
      if (wantsTable(req.headers.accept) || route.subresource === "scale") return handleGet(deps, req, res, v2route, q);
      const o = await deps.store.get<HorizontalPodAutoscaler>(RESOURCE, route.namespace, route.name!);
      return sendJson(res, 200, hpaToV1(o));
    }
    case "list": {
      if (wantsTable(req.headers.accept)) return handleList(deps, req, res, v2route, q);
      const o = listOptions(RESOURCE, q, { watch: false });
      const list = await deps.store.list<HorizontalPodAutoscaler>(RESOURCE, route.namespace, { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector });
      return sendJson(res, 200, { ...list, apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscalerList", items: list.items.map(hpaToV1) });
    }
    case "create": {
      const o = hpaFromV1(bodyOf(route, parseBody(await readBody(req), req.headers["content-type"])));
      const created = await deps.store.send<HorizontalPodAutoscaler>({ type: "create", resource: RESOURCE, namespace: route.namespace, object: o, dryRun: isDryRun(q) });
      return sendJson(res, 201, hpaToV1(created));
    }
    case "update": {
      const body = bodyOf(route, parseBody(await readBody(req), req.headers["content-type"]));
      const stored = await deps.store.get<HorizontalPodAutoscaler>(RESOURCE, route.namespace, route.name!);
      const next = hpaFromV1(body);
      // What v1 cannot say stays as stored: the other metrics and the behavior.
      const others = (stored.spec.metrics ?? []).filter((m) => !(m.type === "Resource" && m.resource?.name === "cpu"));
      next.spec.metrics = [...(next.spec.metrics ?? []), ...others];
      if (stored.spec.behavior) next.spec.behavior = stored.spec.behavior;
      if (route.subresource === "status") next.status = { ...(stored.status ?? { currentReplicas: 0, desiredReplicas: 0 }), ...(next.status ?? {}) };
      const target = { resource: RESOURCE, namespace: route.namespace, name: route.name!, object: next };
      const updated = await deps.store.send<HorizontalPodAutoscaler>(route.subresource === "status" ? { type: "status", ...target } : { type: "update", ...target, dryRun: isDryRun(q) });
      return sendJson(res, 200, hpaToV1(updated));
    }
    case "delete":
      return handleDelete(deps, req, res, v2route, q);
    case "watch":
    case "patch":
    case "deletecollection":
      throw new FlotillaError(ErrorCode.MethodNotAllowed, `${route.verb} of autoscaling/v1 horizontalpodautoscalers is not served: use autoscaling/v2`);
  }
}
