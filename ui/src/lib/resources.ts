/** The list paths the dashboard watches (all namespaces; views filter by the namespace picker). Namespaces are only listed. */
export const Paths = {
  nodes: "/api/v1/nodes",
  pods: "/api/v1/pods",
  namespaces: "/api/v1/namespaces",
  services: "/api/v1/services",
  endpoints: "/api/v1/endpoints",
  events: "/api/v1/events",
  deployments: "/apis/apps/v1/deployments",
  replicasets: "/apis/apps/v1/replicasets",
  replicationcontrollers: "/api/v1/replicationcontrollers",
  daemonsets: "/apis/apps/v1/daemonsets",
  statefulsets: "/apis/apps/v1/statefulsets",
  jobs: "/apis/batch/v1/jobs",
  cronjobs: "/apis/batch/v1/cronjobs",
  ingresses: "/apis/networking.k8s.io/v1/ingresses",
  customresourcedefinitions: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
} as const;
export type WatchedResource = keyof typeof Paths;
