/**
 * The page's only door to the api-server: same origin, bearer token on every request (the token
 * lives in this tab's sessionStorage, never in a URL). Tracks whether the server answers, so the
 * page can show a banner when it does not, and drops the token when the server rejects it.
 */
const TOKEN_KEY = "flotilla.token";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** A fetch that never reached the server (refused, reset, DNS, TLS). */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

export interface WhoAmI {
  user: string;
  groups: string[];
  canWrite: boolean;
}

type Listener = () => void;

class Connection {
  reachable = true;
  token: string | null = sessionStorage.getItem(TOKEN_KEY);
  private listeners = new Set<Listener>();

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  private emit(): void {
    for (const l of this.listeners) l();
  }
  setReachable(ok: boolean): void {
    if (ok === this.reachable) return;
    this.reachable = ok;
    this.emit();
  }
  signIn(token: string): void {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    this.emit();
  }
  signOut(): void {
    this.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    this.emit();
  }
}

export const connection = new Connection();

/** A Kubernetes Status body's message, else the status text. */
async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let reason: string | undefined;
  try {
    const body = (await res.json()) as { message?: string; reason?: string };
    if (body.message) message = body.message;
    reason = body.reason;
  } catch {
    // not JSON
  }
  return new ApiError(res.status, message, reason);
}

/** fetch with the token; resolves to the Response when it is 2xx, throws ApiError / UnreachableError. */
export async function request(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const token = init.token ?? connection.token;
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: "no-store" });
  } catch (e) {
    if (init.signal?.aborted) throw e;
    connection.setReachable(false);
    throw new UnreachableError(`the api-server at ${location.host} does not answer`);
  }
  connection.setReachable(true);
  if (res.ok) return res;
  const err = await errorOf(res);
  if (res.status === 401 && init.token === undefined && connection.token) connection.signOut();
  throw err;
}

export async function getJson<T>(path: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export function whoami(token?: string): Promise<WhoAmI> {
  return getJson<WhoAmI>("/flotilla/v1/whoami", token === undefined ? {} : { token });
}

const send = (method: string, path: string, body?: unknown, contentType = "application/json") =>
  request(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "Content-Type": contentType } }) });

/** The dashboard's writes — the same requests kubectl makes. */
export const actions = {
  scale: (ns: string, deployment: string, replicas: number) =>
    send("PATCH", `/apis/apps/v1/namespaces/${enc(ns)}/deployments/${enc(deployment)}/scale`, { spec: { replicas } }, "application/merge-patch+json"),
  deletePod: (ns: string, pod: string) => send("DELETE", `/api/v1/namespaces/${enc(ns)}/pods/${enc(pod)}`),
  cordon: (node: string, unschedulable: boolean) =>
    send("PATCH", `/api/v1/nodes/${enc(node)}`, { spec: { unschedulable } }, "application/strategic-merge-patch+json"),
};

function enc(s: string): string {
  return encodeURIComponent(s);
}
