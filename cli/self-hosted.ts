/**
 * `flotilla up --self-hosted`: the control plane as static pods of the first node, in `kube-system`,
 * as kubeadm lays out kube-apiserver, etcd, kube-scheduler and kube-controller-manager. `up` keeps
 * only nats-server and the node (kubelet + proxy) on the host and writes one manifest per component
 * into `<data-dir>/manifests`; the kubelet runs them before any API exists and publishes their
 * mirror pods once the store (one of them) answers.
 *
 *   store        flotilla actor store           --creds credentials/store.json
 *   api-server   flotilla actor api-server      --creds credentials/control.json  (port, data dir)
 *   scheduler    flotilla actor scheduler       --creds credentials/control.json
 *   controllers  flotilla actor <every controller, comma-separated>  (one process, as kube-controller-manager)
 *
 * Every pod uses the host's network (the api-server's port, NATS on loopback) and mounts the data
 * dir at its own path (credentials, PKI, tokens). docker: the `flotilla` image (image-build.ts);
 * process: the host's node running this checkout.
 *
 * @example
 *   writeControlPlane(join(dataDir, "manifests"), controlPlaneManifests({ … }));
 */
import type { Pod } from "../bus/resources.ts";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:https";
import { CONTROL_PLANE } from "../actors/registry.ts";
import { credentialsPath } from "../runtime/cluster/credentials.ts";
import { IMAGE_CLI, IMAGE_NODE, CHECKOUT } from "./image-build.ts";

/** Generated manifests carry this prefix (a cluster that is not self-hosted removes them). */
export const MANIFEST_PREFIX = "flotilla-";
export const SELF_HOSTED_LABEL = "flotilla.io/self-hosted";

export interface SelfHostedOptions {
  /** `docker`: run the image; `process`: run this checkout with the host's node. */
  engine: "docker" | "process";
  image: string;
  natsUrl: string;
  cluster: string;
  dataDir: string;
  apiPort: number;
  storeOpts?: Record<string, unknown>;
}

export const COMPONENTS = ["store", "api-server", "scheduler", "controllers"] as const;
export type Component = (typeof COMPONENTS)[number];

/** The controllers pod runs every control-plane actor that is not the store, api-server or scheduler. */
export const CONTROLLER_KINDS: readonly string[] = CONTROL_PLANE.filter((k) => k !== "store" && k !== "api-server" && k !== "scheduler");

const optArgs = (opts: Record<string, unknown>) => Object.entries(opts).flatMap(([k, v]) => ["--opt", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`]);

/** The static pod of one component (pure). */
export function componentPod(c: Component, o: SelfHostedOptions): Pod {
  const kinds = c === "controllers" ? CONTROLLER_KINDS.join(",") : c;
  const opts: Record<string, unknown> = c === "api-server" ? { port: o.apiPort, dataDir: o.dataDir } : c === "store" ? (o.storeOpts ?? {}) : {};
  const creds = credentialsPath(o.dataDir, c === "store" ? "store" : "control");
  const cli = o.engine === "docker" ? [IMAGE_NODE, IMAGE_CLI] : [process.execPath, join(CHECKOUT, "bin", "flotilla.mjs")];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: c,
      namespace: "kube-system",
      labels: { component: c, tier: "control-plane", [SELF_HOSTED_LABEL]: "true" },
    },
    spec: {
      hostNetwork: true,
      // Root, as kubeadm's control plane: it reads the credentials, the PKI and the tokens in the
      // data dir (the process engine otherwise runs pods as an unprivileged user).
      securityContext: { runAsUser: 0, runAsGroup: 0 },
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: c,
          image: o.image,
          imagePullPolicy: "Never",
          command: [...cli, "actor", kinds, "--nats", o.natsUrl, "--cluster", o.cluster, "--creds", creds, ...optArgs(opts)],
          env: [{ name: "FLOTILLA_LOG", value: process.env.FLOTILLA_LOG ?? "info" }],
          volumeMounts: [{ name: "data", mountPath: o.dataDir }],
        },
      ],
      volumes: [{ name: "data", hostPath: { path: o.dataDir, type: "Directory" } }],
    },
  };
}

export function controlPlaneManifests(o: SelfHostedOptions): { file: string; pod: Pod }[] {
  return COMPONENTS.map((c) => ({ file: `${MANIFEST_PREFIX}${c}.json`, pod: componentPod(c, o) }));
}

/** Writes the manifests (each written whole under a hidden name, then renamed: the kubelet never reads half a file). */
export function writeControlPlane(dir: string, manifests: { file: string; pod: Pod }[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const m of manifests) {
    const tmp = join(dir, `.${m.file}.tmp`);
    writeFileSync(tmp, JSON.stringify(m.pod, null, 2) + "\n", { mode: 0o600 });
    renameSync(tmp, join(dir, m.file));
  }
}

/** Removes the generated manifests (a cluster started without --self-hosted runs its control plane in process). */
export function removeControlPlane(dir: string): number {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) {
      if (f.startsWith(MANIFEST_PREFIX) && f.endsWith(".json")) {
        rmSync(join(dir, f), { force: true });
        n++;
      }
    }
  } catch {
    /* no directory */
  }
  return n;
}

/** Resolves once `https://127.0.0.1:<port>/readyz` answers 200 (the api-server pod is serving). */
export async function waitForApiServer(port: number, caPem: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/readyz", ca: caPem, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (e) => {
        last = e.message;
        resolve(0);
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.end();
    });
    if (status === 200) return;
    if (status) last = `HTTP ${status}`;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the self-hosted api-server did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s (${last})`);
}
