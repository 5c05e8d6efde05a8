/** Every actor kind Flotilla has, by the name `flotilla actor <kind>` takes. */
import type { ActorDefinition } from "../runtime/actor.ts";
import { storeActor } from "./store/index.ts";
import { apiServer } from "./api-server/index.ts";
import { scheduler } from "./scheduler/index.ts";
import { nodeController } from "./node-controller/index.ts";
import { replicationController } from "./replication-controller/index.ts";
import { deploymentController } from "./deployment-controller/index.ts";
import { endpointsController } from "./endpoints-controller/index.ts";
import { daemonSetController } from "./daemonset-controller/index.ts";
import { statefulSetController } from "./statefulset-controller/index.ts";
import { jobController } from "./job-controller/index.ts";
import { cronJobController } from "./cronjob-controller/index.ts";
import { garbageCollector } from "./garbage-collector/index.ts";
import { namespaceController } from "./namespace-controller/index.ts";
import { kubelet } from "./kubelet/index.ts";
import { proxy } from "./proxy/index.ts";
import { dns } from "./dns/index.ts";
import { nodeIpamController } from "./node-ipam-controller/index.ts";
import { clusterRoleAggregationController } from "./clusterrole-aggregation-controller/index.ts";
import { serviceAccountController } from "./serviceaccount-controller/index.ts";
import { crdController } from "./crd-controller/index.ts";
import { quotaController } from "./quota-controller/index.ts";
import { disruptionController } from "./disruption-controller/index.ts";
import { pvController } from "./pv-controller/index.ts";
import { hpaController } from "./hpa-controller/index.ts";
import { ingress } from "./ingress/index.ts";
import { endpointSliceController } from "./endpointslice-controller/index.ts";
import { networkPolicy } from "./proxy/network-policy.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ACTORS: Record<string, ActorDefinition<any>> = {
  store: storeActor,
  "api-server": apiServer,
  scheduler,
  "node-controller": nodeController,
  "replication-controller": replicationController,
  "deployment-controller": deploymentController,
  "endpoints-controller": endpointsController,
  "daemonset-controller": daemonSetController,
  "statefulset-controller": statefulSetController,
  "job-controller": jobController,
  "cronjob-controller": cronJobController,
  "garbage-collector": garbageCollector,
  "namespace-controller": namespaceController,
  kubelet,
  proxy,
  dns,
  "node-ipam-controller": nodeIpamController,
  "clusterrole-aggregation-controller": clusterRoleAggregationController,
  "serviceaccount-controller": serviceAccountController,
  "crd-controller": crdController,
  "quota-controller": quotaController,
  "disruption-controller": disruptionController,
  "pv-controller": pvController,
  "hpa-controller": hpaController,
  ingress,
  "endpointslice-controller": endpointSliceController,
  "network-policy": networkPolicy,
};

/** The control plane, in start order (the store first: everything else talks through it). */
export const CONTROL_PLANE = [
  "store",
  "scheduler",
  "node-controller",
  "node-ipam-controller",
  "replication-controller",
  "deployment-controller",
  "endpoints-controller",
  "daemonset-controller",
  "statefulset-controller",
  "job-controller",
  "cronjob-controller",
  "garbage-collector",
  "namespace-controller",
  "clusterrole-aggregation-controller",
  "serviceaccount-controller",
  "crd-controller",
  "quota-controller",
  "disruption-controller",
  "pv-controller",
  "hpa-controller",
  "endpointslice-controller",
  "api-server",
] as const;

export const ACTOR_KINDS = Object.keys(ACTORS);
