/**
 * Turns a pod's container spec into the engine's ContainerConfig: resolved env (ConfigMaps and
 * Secrets fetched from the store first), limits, pull policy. Throws ConfigError for a missing
 * reference (→ CreateContainerConfigError).
 */
import type { Pod, Container, ConfigMap, Secret, Service, Endpoints } from "../../bus/resources.ts";
import type { StoreClient } from "../../bus/store-client.ts";
import type { ContainerConfig } from "./engines/types.ts";
import type { EnvContext } from "./env.ts";
import { resolveEnv } from "./env.ts";
import { serviceEnv } from "../../bus/service-links.ts";
import { isCode, ErrorCode } from "../../bus/errors.ts";
import { milliCpu, units } from "../../bus/quantity.ts";
import { oomScoreAdj } from "./oom-score.ts";
import { totalmem } from "node:os";

export function pullPolicy(c: Container): ContainerConfig["imagePullPolicy"] {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const image = c.image ?? "";
  const tag = image.includes("@") ? "digest" : (/:([^/:]+)$/.exec(image)?.[1] ?? "latest");
  return tag === "latest" ? "Always" : "IfNotPresent";
}

async function fetchOr<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isCode(e, ErrorCode.NotFound)) return undefined;
    throw e;
  }
}

/** Reads the ConfigMaps and Secrets the container references (missing ones stay absent). */
async function referenced(store: StoreClient, pod: Pod, c: Container) {
  const ns = pod.metadata.namespace ?? "default";
  const cms = new Set<string>();
  const secrets = new Set<string>();
  for (const f of c.envFrom ?? []) {
    if (f.configMapRef) cms.add(f.configMapRef.name);
    if (f.secretRef) secrets.add(f.secretRef.name);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.configMapKeyRef) cms.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  const cmMap = new Map<string, ConfigMap>();
  const secretMap = new Map<string, Secret>();
  await Promise.all([
    ...[...cms].map(async (n) => {
      const o = await fetchOr(store.get<ConfigMap>("configmaps", ns, n));
      if (o) cmMap.set(n, o);
    }),
    ...[...secrets].map(async (n) => {
      const o = await fetchOr(store.get<Secret>("secrets", ns, n));
      if (o) secretMap.set(n, o);
    }),
  ]);
  return { configMap: (_ns: string, n: string) => cmMap.get(n), secret: (_ns: string, n: string) => secretMap.get(n) };
}

/**
 * Service links for pods that want them (`enableServiceLinks`, default true), from the Services of
 * the pod's namespace, and always the api-server's (`KUBERNETES_SERVICE_HOST`/`_PORT`, from
 * `default/kubernetes`, as Kubernetes' kubelet adds the master service to every pod). A pod that
 * shares the node's loopback network reaches the api-server at its own address (the Service's
 * Endpoints), which its serving certificate names.
 */
async function serviceLinks(store: StoreClient, pod: Pod, ctx: { bridgeAddress?: string; hostNetworked: boolean }): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const own = pod.spec.enableServiceLinks === false ? [] : (await store.list<Service>("services", ns)).items.filter((s) => !(ns === "default" && s.metadata.name === "kubernetes"));
  const env = serviceEnv(own, { bridgeAddress: ctx.bridgeAddress });
  return { ...env, ...(await masterServiceEnv(store, ctx)) };
}

async function masterServiceEnv(store: StoreClient, ctx: { bridgeAddress?: string; hostNetworked: boolean }): Promise<Record<string, string>> {
  const svc = await fetchOr(store.get<Service>("services", "default", "kubernetes"));
  if (!svc) return {};
  if (ctx.hostNetworked && !ctx.bridgeAddress) {
    const ep = await fetchOr(store.get<Endpoints>("endpoints", "default", "kubernetes"));
    const subset = ep?.subsets?.find((s) => s.addresses?.length && s.ports?.length);
    const ip = subset?.addresses?.[0]?.ip;
    const port = subset?.ports?.[0]?.port;
    if (ip && port) {
      return {
        KUBERNETES_SERVICE_HOST: ip,
        KUBERNETES_SERVICE_PORT: String(port),
        KUBERNETES_SERVICE_PORT_HTTPS: String(port),
        KUBERNETES_PORT: `tcp://${ip}:${port}`,
        [`KUBERNETES_PORT_443_TCP`]: `tcp://${ip}:${port}`,
        KUBERNETES_PORT_443_TCP_PROTO: "tcp",
        KUBERNETES_PORT_443_TCP_PORT: String(port),
        KUBERNETES_PORT_443_TCP_ADDR: ip,
      };
    }
  }
  return serviceEnv([svc], { bridgeAddress: ctx.bridgeAddress });
}

function oomScoreOf(pod: Pod, c: Container): { oomScoreAdj?: number } {
  const request = c.resources?.requests?.memory ?? c.resources?.limits?.memory;
  const adj = oomScoreAdj(pod.status?.qosClass, request !== undefined ? units(request) : 0, totalmem());
  return adj === undefined ? {} : { oomScoreAdj: adj };
}

export async function containerConfig(
  store: StoreClient,
  pod: Pod,
  c: Container,
  init: boolean,
  attempt: number,
  ctx: EnvContext & { serviceLinks?: boolean; bridgeAddress?: string },
): Promise<ContainerConfig> {
  const lookups = await referenced(store, pod, c);
  // Service variables come first: the container's own env overrides them, as in Kubernetes.
  const hostNetworked = pod.spec.hostNetwork === true || ctx.podIP === ctx.hostIP;
  const links = ctx.serviceLinks === false ? {} : await serviceLinks(store, pod, { ...(ctx.bridgeAddress ? { bridgeAddress: ctx.bridgeAddress } : {}), hostNetworked });
  const env = { ...links, ...resolveEnv(pod, c, lookups, ctx) };
  const limits = c.resources?.limits ?? {};
  return {
    name: c.name,
    image: c.image ?? "",
    command: c.command,
    args: c.args,
    workingDir: c.workingDir,
    env,
    ports: (c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
    cpuMillis: limits.cpu !== undefined ? milliCpu(limits.cpu) : undefined,
    memoryBytes: limits.memory !== undefined ? units(limits.memory) : undefined,
    ...(c.resources?.requests?.cpu !== undefined ? { cpuRequestMillis: milliCpu(c.resources.requests.cpu) } : {}),
    ...oomScoreOf(pod, c),
    imagePullPolicy: pullPolicy(c),
    init,
    attempt,
    ...(c.stdin ? { stdin: true } : {}),
    ...(c.tty ? { tty: true } : {}),
  };
}
