/**
 * The CLI's HTTP API client: reads a kubeconfig (server, CA data, token) and talks HTTPS with the
 * cluster CA — never an insecure skip. Errors come back as one readable line.
 *
 * @example
 *   const api = ApiClient.fromKubeconfig(resolveKubeconfig(undefined));
 *   const pods = await api.get<PodList>(pathFor(lookupResource("pods")!, { namespace: "default" }));
 */
import type { IncomingMessage } from "node:http";
import type { ResourceType } from "../bus/kinds.ts";
import { request as httpsRequest } from "node:https";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import type { NatsExtension } from "../actors/api-server/kubeconfig.ts";
import { natsExtensionOf, serversExtensionOf } from "../actors/api-server/kubeconfig.ts";
import { defaultDataDir, kubeconfigPath } from "./config.ts";
import { CliError } from "./errors.ts";

export interface Kubeconfig {
  path: string;
  server: string;
  /** Every api-server to try, `server` first (one unless the kubeconfig lists several servers). */
  servers: string[];
  caPem?: string;
  token?: string;
  /** A client certificate and its key (PEM), when the user authenticates with one. */
  clientCert?: { certPem: string; keyPem: string };
  namespace: string;
  /** Where the selected cluster's NATS is, when the kubeconfig says (`flotilla up` writes it). */
  nats?: NatsExtension;
}

/** `--kubeconfig`, else `$KUBECONFIG` (a `:`-separated list, as kubectl reads it), else `<data dir>/kubeconfig`. */
export function resolveKubeconfig(flag: string | undefined, dataDir = defaultDataDir()): string {
  if (flag) return flag;
  const env = process.env.KUBECONFIG?.split(":").filter((p) => p);
  return env?.length ? env.join(":") : kubeconfigPath(dataDir);
}

type Named<T> = { name: string } & T;
interface KcFile {
  clusters?: Named<{ cluster: { server: string; "certificate-authority-data"?: string; "certificate-authority"?: string; extensions?: unknown } }>[];
  users?: Named<{ user: { token?: string; "client-certificate-data"?: string; "client-key-data"?: string; "client-certificate"?: string; "client-key"?: string } }>[];
  contexts?: Named<{ context: { cluster: string; user: string; namespace?: string } }>[];
  "current-context"?: string;
}

/** Merges kubeconfig files as kubectl does: the first file to name an entry or the current context wins. */
function mergeKubeconfigs(files: KcFile[]): KcFile {
  const merge = <T extends { name: string }>(lists: (T[] | undefined)[]): T[] => {
    const out = new Map<string, T>();
    for (const l of lists) for (const e of l ?? []) if (e?.name !== undefined && !out.has(e.name)) out.set(e.name, e);
    return [...out.values()];
  };
  return {
    clusters: merge(files.map((f) => f.clusters)),
    users: merge(files.map((f) => f.users)),
    contexts: merge(files.map((f) => f.contexts)),
    "current-context": files.map((f) => f["current-context"]).find((c) => c),
  };
}

export function loadKubeconfig(pathList: string): Kubeconfig {
  const files = pathList.split(":").filter((p) => p && existsSync(p));
  if (files.length === 0) throw new CliError(`no kubeconfig at ${pathList} — is the cluster up? run \`flotilla up\` (or pass --kubeconfig)`);
  const path = files.join(":");
  const kc = mergeKubeconfigs(files.map((f) => (parse(readFileSync(f, "utf8")) ?? {}) as KcFile));
  const ctx = kc.contexts?.find((c) => c.name === kc["current-context"]) ?? kc.contexts?.[0];
  const cluster = kc.clusters?.find((c) => c.name === ctx?.context.cluster) ?? kc.clusters?.[0];
  if (!cluster) throw new CliError(`the kubeconfig ${path} names no cluster`);
  const user = kc.users?.find((u) => u.name === ctx?.context.user) ?? kc.users?.[0];
  const caData = cluster.cluster["certificate-authority-data"];
  const caFile = cluster.cluster["certificate-authority"];
  const nats = natsExtensionOf(cluster.cluster.extensions);
  const server = cluster.cluster.server.replace(/\/$/, "");
  const others = serversExtensionOf(cluster.cluster.extensions).map((u) => u.replace(/\/$/, ""));
  return {
    path,
    server,
    servers: [...new Set([server, ...others])],
    caPem: caData ? Buffer.from(caData, "base64").toString("utf8") : caFile ? readFileSync(caFile, "utf8") : undefined,
    token: user?.user.token,
    ...clientCertOf(user?.user),
    namespace: ctx?.context.namespace ?? "default",
    ...(nats ? { nats } : {}),
  };
}

/** The user's client certificate and key, inline (`-data`, base64) or as files. */
function clientCertOf(u: NonNullable<KcFile["users"]>[number]["user"] | undefined): Pick<Kubeconfig, "clientCert"> {
  const certPem = u?.["client-certificate-data"] ? Buffer.from(u["client-certificate-data"], "base64").toString("utf8") : u?.["client-certificate"] ? readFileSync(u["client-certificate"], "utf8") : undefined;
  const keyPem = u?.["client-key-data"] ? Buffer.from(u["client-key-data"], "base64").toString("utf8") : u?.["client-key"] ? readFileSync(u["client-key"], "utf8") : undefined;
  return certPem && keyPem ? { clientCert: { certPem, keyPem } } : {};
}

/** URL path of a resource collection or object, as the api-server routes it. */
export function pathFor(rt: ResourceType, o: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const ns = rt.namespaced && o.namespace ? `/namespaces/${encodeURIComponent(o.namespace)}` : "";
  const name = o.name ? `/${encodeURIComponent(o.name)}` : "";
  const sub = o.name && o.subresource ? `/${o.subresource}` : "";
  return `${base}${ns}/${rt.resource}${name}${sub}`;
}

/** A Kubernetes Status returned with a non-2xx code. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly body: Status,
  ) {
    super(body.message ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
  get reason(): string | undefined {
    return this.body.reason;
  }
}

export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

/** Connection errors that mean the request never reached a server, so another one may take it. */
const NOT_SENT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ECONNECT_TIMEOUT"]);
/** How long a server may take to accept the connection before the next one is tried. */
const CONNECT_TIMEOUT_MS = 3_000;

export class ApiClient {
  /** Index into kc.servers of the api-server in use: the first that answered. */
  private current = 0;
  constructor(readonly kc: Kubeconfig) {}

  static fromKubeconfig(path: string): ApiClient {
    return new ApiClient(loadKubeconfig(path));
  }

  get namespace(): string {
    return this.kc.namespace;
  }

  /** The api-server in use. */
  get server(): string {
    return this.kc.servers[this.current] ?? this.kc.server;
  }

  /**
   * Sends the request to the api-server in use; when it cannot be reached (the connection was
   * refused or not accepted in time, so nothing was sent), to the next one the kubeconfig lists.
   */
  private async open(method: string, path: string, o: RequestOptions): Promise<IncomingMessage> {
    const servers = this.kc.servers.length ? this.kc.servers : [this.kc.server];
    let last: NodeJS.ErrnoException | undefined;
    for (let tried = 0; tried < servers.length; tried++) {
      const i = (this.current + tried) % servers.length;
      try {
        const res = await this.openOn(servers[i]!, method, path, o, servers.length > 1);
        this.current = i;
        return res;
      } catch (e) {
        last = e as NodeJS.ErrnoException;
        if (!NOT_SENT.has(last.code ?? "")) throw this.unreachable(last, servers[i]!);
      }
    }
    throw this.unreachable(last!, servers.length > 1 ? servers.join(", ") : servers[0]!);
  }

  private openOn(server: string, method: string, path: string, o: RequestOptions, connectTimeout: boolean): Promise<IncomingMessage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const url = new URL(server + path + (q.size ? `?${q}` : ""));
    const body = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          ca: this.kc.caPem,
          ...(this.kc.clientCert ? { cert: this.kc.clientCert.certPem, key: this.kc.clientCert.keyPem } : {}),
          headers: {
            Accept: o.accept ?? "application/json",
            ...(this.kc.token ? { Authorization: `Bearer ${this.kc.token}` } : {}),
            ...(body !== undefined ? { "Content-Type": o.contentType ?? "application/json", "Content-Length": Buffer.byteLength(body) } : {}),
          },
        },
        resolve,
      );
      req.on("error", reject);
      if (connectTimeout) {
        req.on("socket", (sock) => {
          if (!sock.connecting) return;
          const t = setTimeout(() => {
            const e: NodeJS.ErrnoException = new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`);
            e.code = "ECONNECT_TIMEOUT";
            req.destroy(e);
          }, CONNECT_TIMEOUT_MS);
          sock.once("connect", () => clearTimeout(t));
          sock.once("close", () => clearTimeout(t));
        });
      }
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private unreachable(e: NodeJS.ErrnoException, server: string): CliError {
    if (NOT_SENT.has(e.code ?? "") || e.code === "ECONNRESET" || e.code === "ETIMEDOUT") {
      return new CliError(`cannot reach the api-server at ${server} — is the cluster up? run \`flotilla up\``);
    }
    if (/certificate|self.signed|CERT|SELF_SIGNED/i.test(`${e.code} ${e.message}`)) {
      return new CliError(`the api-server at ${server} has a certificate the kubeconfig's CA does not trust (${e.message}); use the kubeconfig \`flotilla up\` wrote`);
    }
    return new CliError(`cannot reach the api-server at ${server}: ${e.message}`);
  }

  /** One request; the JSON body of a 2xx answer, else an ApiError with the Status. */
  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(method, path, o)).body;
  }

  /** Like request, with the HTTP status (201 Created vs 200 OK). */
  async send<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const res = await this.open(method, path, o);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let body: Status;
      try {
        body = JSON.parse(text) as Status;
      } catch {
        body = { message: text.trim() || `HTTP ${status}` };
      }
      if (status === 401) body.message = `the api-server refused the token in ${this.kc.path} (401 Unauthorized): ${body.message ?? ""}`;
      throw new ApiError(status, body);
    }
    const ct = String(res.headers["content-type"] ?? "");
    return { status, body: (ct.includes("json") ? JSON.parse(text) : text) as T };
  }

  get<T = unknown>(path: string, o: RequestOptions = {}): Promise<T> {
    return this.request<T>("GET", path, o);
  }

  /**
   * A streamed GET (watch, logs -f): calls onLine for each line until the server ends the
   * response or the signal aborts. Resolves when the stream ends.
   */
  async stream(path: string, o: RequestOptions & { signal?: AbortSignal }, onLine: (line: string) => void): Promise<void> {
    const res = await this.open("GET", path, o);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      let body: Status;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Status;
      } catch {
        body = { message: `HTTP ${status}` };
      }
      throw new ApiError(status, body);
    }
    o.signal?.addEventListener("abort", () => res.destroy(), { once: true });
    let buf = "";
    try {
      for await (const c of res) {
        buf += (c as Buffer).toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    } catch (e) {
      if (!o.signal?.aborted) throw e;
    }
    if (buf) onLine(buf);
  }
}

