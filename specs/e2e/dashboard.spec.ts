/**
 * The dashboard end to end: `up()` on the simulated engine (two nodes) plus one process-engine node
 * for the logs pane, driven in Debian's headless Chromium through playwright-core.
 * Screenshots of each view go to specs/artifacts/ (not committed).
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import type { RunningCluster } from "../../cli/up.ts";
import type { Host } from "../../runtime/host.ts";
import { expect } from "chai";
import { request as httpsRequest } from "node:https";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { up } from "../../cli/up.ts";
import { ACTORS } from "../../actors/registry.ts";
import { startHost } from "../../runtime/host.ts";
import { waitFor } from "../harness/cluster.ts";
import { killProcessContainers } from "../actors/kubelet/behaviours.ts";
import { requireExecutable } from "../harness/optional.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");
const PROC_NODE = "proc-1";

describe("dashboard in a browser", function () {
  this.timeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), "flotilla-dashboard-"));
  const procDir = join(dataDir, "proc-node");
  let cluster: RunningCluster;
  let procHost: Host;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let ca: string;

  /** The API as the admin (the spec's own setup and checks; the page makes its own requests). */
  const api = (method: string, path: string, body?: unknown, token = cluster.adminToken): Promise<{ status: number; json: unknown }> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        cluster.apiUrl + path,
        { method, ca, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(data ? { "Content-Length": Buffer.byteLength(data) } : {}) } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  const webPods = async (): Promise<string[]> => {
    const r = (await api("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")).json as { items: { metadata: { name: string; deletionTimestamp?: string } }[] };
    return r.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
  };
  const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  const rowsOf = (p: Page, table: string) => p.getByRole("table", { name: table }).locator("tbody tr");
  const signIn = async (p: Page, token: string) => {
    await p.goto(`${cluster.apiUrl}/ui/`);
    await p.getByLabel("Token").fill(token);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Overview" }).waitFor();
  };
  /** A confirmation's dialog closes once its action succeeded; when the action fails, the failure is the dialog's alert. */
  const confirmed = async (dialog: Locator) => {
    const alert = dialog.getByRole("alert");
    await Promise.race([
      dialog.waitFor({ state: "detached" }),
      alert.waitFor().then(async () => {
        throw new Error(`the dialog's action failed: ${await alert.innerText()}`);
      }),
    ]);
  };
  const nav = (p: Page, view: string) => p.getByRole("navigation", { name: "Views" }).getByRole("link", { name: view }).click();

  before(async function () {
    requireExecutable(this, CHROMIUM, "apt-get install -y chromium (.ci/run installs it)");
    mkdirSync(ARTIFACTS, { recursive: true });
    process.env.FLOTILLA_LOG ??= "warn";
    cluster = await up({ dataDir, nodes: 2, engine: "simulated", port: 0, quiet: true });
    ca = readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");
    procHost = await startHost({
      natsUrl: cluster.natsUrl,
      // A node up() did not make: the control role's credentials may publish on its subjects.
      creds: join(dataDir, "credentials", "control.json"),
      actors: [{ def: ACTORS.kubelet!, opts: { nodeName: PROC_NODE, engine: "process", dataDir: procDir, taints: [{ key: "flotilla.dev/logs-only", effect: "NoSchedule" }] } }],
    });
    const dep = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "busybox", resources: { requests: { cpu: "250m", memory: "128Mi" } } }] } },
      },
    };
    expect((await api("POST", "/apis/apps/v1/namespaces/default/deployments", dep)).status).to.equal(201);
    const ticker = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "ticker" },
      spec: {
        nodeName: PROC_NODE,
        tolerations: [{ key: "flotilla.dev/logs-only", operator: "Exists", effect: "NoSchedule" }],
        containers: [{ name: "tick", image: "busybox", command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"] }],
      },
    };
    expect((await api("POST", "/api/v1/namespaces/default/pods", ticker)).status).to.equal(201);
    await waitFor(async () => (await webPods()).length === 2, { what: "two web pods", timeoutMs: 20_000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
  });

  // A dialog a failed test left open would make the rest of the page inert for the tests after it.
  afterEach(async () => {
    const open = page?.getByRole("dialog");
    if (open && (await open.count())) await page.keyboard.press("Escape");
  });

  after(async () => {
    await browser?.close();
    await procHost?.stop();
    await cluster?.stop();
    killProcessContainers(procDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves the sign-in page without a token and keeps the token out of the URL", async () => {
    await page.goto(`${cluster.apiUrl}/ui/`);
    await page.getByLabel("Token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("does not accept this token").waitFor();
    await shot(page, "sign-in");
    await signIn(page, cluster.adminToken);
    expect(page.url()).not.to.include(cluster.adminToken);
    expect(await page.evaluate(() => sessionStorage.getItem("flotilla.token"))).to.equal(cluster.adminToken);
  });

  it("lists every node on the overview with its readiness", async () => {
    const cards = page.getByRole("list", { name: "nodes" }).locator("li");
    await waitFor(async () => (await cards.count()) === 3, { what: "three node cards" });
    expect(await cards.allInnerTexts()).to.satisfy((ts: string[]) => ["node-1", "node-2", PROC_NODE].every((n) => ts.some((t) => t.includes(n) && t.includes("Ready"))));
    await shot(page, "overview");
  });

  it("scales a Deployment from 2 to 4 and shows four pods without a reload", async () => {
    await nav(page, "Workloads");
    const web = () => page.locator('tr[data-pod^="web-"]');
    await waitFor(async () => (await web().count()) === 2, { what: "two web pods in the page" });
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const dialog = page.getByRole("dialog", { name: "Scale deployment web" });
    await page.getByRole("button", { name: "Scale web" }).focus();
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Scale web" }).click();
    await dialog.getByLabel(/Replicas/).fill("4");
    await dialog.getByRole("button", { name: "Scale" }).click();
    await confirmed(dialog);
    await waitFor(async () => (await web().count()) === 4, { what: "four web pods in the page", timeoutMs: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).to.equal(42);
    const scale = (await api("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale")).json as { spec: { replicas: number } };
    expect(scale.spec.replicas).to.equal(4);
    await shot(page, "workloads");
  });

  it("deletes a pod after confirmation and shows its replacement", async () => {
    const before = await webPods();
    const victim = before[0]!;
    await page.getByRole("button", { name: `Delete ${victim}` }).click();
    const dialog = page.getByRole("dialog", { name: `Delete pod ${victim}?` });
    await dialog.getByRole("button", { name: "Delete" }).click();
    await confirmed(dialog);
    const names = async () => page.locator('tr[data-pod^="web-"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-pod")!));
    await waitFor(async () => {
      const now = await names();
      return !now.includes(victim) && now.length === 4 && now.some((n) => !before.includes(n));
    }, { what: "the deleted pod replaced in the page", timeoutMs: 20_000 });
  });

  it("shows the events of the scale-up in the live event feed", async () => {
    await nav(page, "Events");
    const pods = await webPods();
    await page.getByLabel("Filter").fill("web-");
    await waitFor(
      async () => {
        const text = (await rowsOf(page, "Events").allInnerTexts()).join("\n");
        return pods.every((p) => text.includes(`Pod/${p}`)) && text.includes("Scheduled") && /ScalingReplicaSet[\s\S]*Scaled up replica set web-[a-z0-9]+ to 4 from 2/.test(text);
      },
      { what: "the Deployment's scale-up event and Scheduled events for every web pod", timeoutMs: 15_000 },
    );
    await shot(page, "events");
  });

  it("cordons a node from the nodes view", async () => {
    await nav(page, "Nodes");
    await page.getByRole("button", { name: "Cordon node-2" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cordon" }).click();
    await page.getByRole("button", { name: "Uncordon node-2" }).waitFor();
    const node = (await api("GET", "/api/v1/nodes/node-2")).json as { spec: { unschedulable?: boolean } };
    expect(node.spec.unschedulable).to.equal(true);
    expect(await page.locator('tr[data-node="node-2"]').innerText()).to.include("SchedulingDisabled");
    await shot(page, "nodes");
  });

  it("shows the actors inventory and the services view", async () => {
    await nav(page, "Actors");
    await waitFor(async () => (await rowsOf(page, "Actors").count()) > 5, { what: "actors" });
    const kinds = await rowsOf(page, "Actors").locator("th").allInnerTexts();
    expect(kinds).to.include.members(["api-server", "scheduler", "kubelet", "store"]);
    await shot(page, "actors");
    await nav(page, "Services");
    await page.getByRole("table", { name: "Services" }).waitFor();
    await shot(page, "services");
  });

  it("lists an Ingress with its rules and a CustomResourceDefinition in their views", async () => {
    const ing = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "shop" },
      spec: { rules: [{ host: "shop.example", http: { paths: [{ path: "/cart", pathType: "Prefix", backend: { service: { name: "cart", port: { number: 80 } } } }] } }] },
    };
    expect((await api("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", ing)).status).to.equal(201);
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "gadgets.example.com" },
      spec: { group: "example.com", scope: "Namespaced", names: { plural: "gadgets", singular: "gadget", kind: "Gadget" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }] },
    };
    expect((await api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).to.equal(201);
    await nav(page, "Ingresses");
    let row = "";
    await waitFor(async () => {
      row = await page.locator('table[aria-label="Ingresses"] tr[data-ingress="shop"]').innerText().catch(() => "");
      return row.includes("shop.example/cart (Prefix)") && row.includes("cart");
    }, { what: "the Ingress row with its rule", timeoutMs: 20_000 }).catch((e: Error) => {
      throw new Error(`${e.message} (row: ${JSON.stringify(row)})`);
    });
    await nav(page, "Custom resources");
    await waitFor(async () => {
      row = await page.locator('table[aria-label="CustomResourceDefinitions"] tr[data-crd="gadgets.example.com"]').innerText().catch(() => "");
      return row.includes("Gadget") && row.includes("example.com") && row.includes("Namespaced");
    }, { what: "the CRD row", timeoutMs: 20_000 }).catch((e: Error) => {
      throw new Error(`${e.message} (row: ${JSON.stringify(row)})`);
    });
    await shot(page, "ingresses-crds");
  });

  it("lists a DaemonSet and a finished Job in the Sets & Jobs view", async () => {
    const labels = { app: "agent" };
    const ds = { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent" }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "a", image: "agent:1" }] } } } };
    expect((await api("POST", "/apis/apps/v1/namespaces/default/daemonsets", ds)).status).to.equal(201);
    const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "once" }, spec: { template: { spec: { containers: [{ name: "o", image: "busybox", command: ["sh", "-c", "exit 0"] }], restartPolicy: "Never" } } } };
    expect((await api("POST", "/apis/batch/v1/namespaces/default/jobs", job)).status).to.equal(201);
    await nav(page, "Sets & Jobs");
    // Two simulated nodes run it (the logs node's taint keeps it off), and the Job completes, live.
    let row = "";
    await waitFor(async () => {
      row = await page.locator('table[aria-label="DaemonSets"] tr[data-name="agent"]').innerText().catch(() => "");
      return row.includes("agent\t2\t2\t2\t2\t2\tagent:1");
    }, { what: "the DaemonSet row at 2/2", timeoutMs: 30_000 }).catch((e: Error) => {
      throw new Error(`${e.message} (row: ${JSON.stringify(row)})`);
    });
    await waitFor(async () => (await page.locator('table[aria-label="Jobs"] tr[data-name="once"]').innerText().catch(() => "")).includes("Complete"), { what: "the Job row Complete", timeoutMs: 30_000 });
    expect(await page.locator('table[aria-label="Jobs"] tr[data-name="once"]').innerText()).to.include("1/1");
    await shot(page, "sets-jobs");
  });

  it("follows the log of a process-engine pod as new lines arrive", async () => {
    await page.goto(`${cluster.apiUrl}/ui/#/pods/default/ticker`);
    const log = page.getByTestId("log");
    const lastTick = async () => Math.max(-1, ...[...(await log.innerText()).matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    const first = await waitFor(async () => ((await lastTick()) >= 0 ? (await lastTick()) + 1 : undefined), { what: "a first log line", timeoutMs: 20_000 });
    await waitFor(async () => (await lastTick()) >= first + 3, { what: "new log lines without a reload", timeoutMs: 10_000 });
    await shot(page, "pod-detail");
  });

  it("tells the user when the api-server does not answer", async () => {
    await page.route("**/flotilla/v1/actors", (r) => r.abort("connectionrefused"));
    await nav(page, "Actors");
    await page.getByRole("alert").filter({ hasText: "unreachable" }).waitFor();
    await shot(page, "unreachable");
    await page.unroute("**/flotilla/v1/actors");
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("alert").filter({ hasText: "unreachable" }).waitFor({ state: "detached" });
  });

  it("shows the admin the Secrets view, and a Secret's values on request", async () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db-creds" }, data: { password: Buffer.from("s3cret-pa55").toString("base64") } };
    expect((await api("POST", "/api/v1/namespaces/default/secrets", secret)).status).to.equal(201);
    await nav(page, "Secrets");
    const row = page.locator('table[aria-label="Secrets"] tr[data-secret="db-creds"]');
    await row.waitFor();
    expect(await row.innerText()).to.include("Opaque");
    expect(await page.locator("main").innerText()).not.to.include("s3cret-pa55", "no value before it is asked for");
    await page.getByRole("button", { name: "Show values of db-creds" }).click();
    await page.getByRole("region", { name: "Values of db-creds" }).getByText("s3cret-pa55").waitFor();
    await shot(page, "secrets");
    await page.getByRole("button", { name: "Hide values of db-creds" }).click();
  });

  it("shows a token with view everywhere and edit in one namespace the actions of that namespace only", async () => {
    const team = "team";
    expect((await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: team } })).status).to.equal(201);
    const app = { apiVersion: "v1", kind: "Pod", metadata: { name: "team-app" }, spec: { containers: [{ name: "a", image: "busybox" }] } };
    expect((await api("POST", `/api/v1/namespaces/${team}/pods`, app)).status).to.equal(201);
    expect((await api("POST", "/api/v1/namespaces/default/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "ops" } })).status).to.equal(201);
    const subject = [{ kind: "ServiceAccount", name: "ops", namespace: "default" }];
    const crb = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "ops-view" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: subject };
    expect((await api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", crb)).status).to.equal(201);
    const rb = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "ops-edit" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: subject };
    expect((await api("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${team}/rolebindings`, rb)).status).to.equal(201);
    const tr = await api("POST", "/api/v1/namespaces/default/serviceaccounts/ops/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } });
    const token = (tr.json as { status: { token: string } }).status.token;
    const opsCtx = await ctx.browser()!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const p = await opsCtx.newPage();
      await signIn(p, token);
      await nav(p, "Workloads");
      await p.getByRole("button", { name: "Delete team-app" }).waitFor();
      expect(await p.getByRole("button", { name: /^Delete web-/ }).count()).to.equal(0, "no delete in default");
      expect(await p.getByRole("button", { name: /^Scale/ }).count()).to.equal(0, "no scale in default");
      expect(await p.getByText("view only").count()).to.equal(0, "not view only: it may act in team");
      await shot(p, "namespace-editor");
    } finally {
      await opsCtx.close();
    }
  });

  it("hides a pod's logs from a token that may read pods but not pods/log", async () => {
    const role = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "pod-lister" },
      rules: [{ apiGroups: [""], resources: ["pods", "events", "namespaces"], verbs: ["get", "list", "watch"] }],
    };
    expect((await api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role)).status).to.equal(201);
    expect((await api("POST", "/api/v1/namespaces/default/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "lister" } })).status).to.equal(201);
    const crb = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "lister" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "pod-lister" },
      subjects: [{ kind: "ServiceAccount", name: "lister", namespace: "default" }],
    };
    expect((await api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", crb)).status).to.equal(201);
    const tr = await api("POST", "/api/v1/namespaces/default/serviceaccounts/lister/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } });
    const token = (tr.json as { status: { token: string } }).status.token;
    const listerCtx = await ctx.browser()!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    try {
      const p = await listerCtx.newPage();
      await signIn(p, token);
      await p.goto(`${cluster.apiUrl}/ui/#/pods/default/ticker`);
      await p.getByText("You may not read this pod's logs").waitFor();
      expect(await p.getByTestId("log").count()).to.equal(0);
    } finally {
      await listerCtx.close();
    }
  });

  it("shows a view-only token no actions, and the API refuses a forced write with 403", async () => {
    const viewer = await ctx.browser()!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 420, height: 800 } });
    try {
      const p = await viewer.newPage();
      await signIn(p, cluster.viewToken);
      await p.getByText("view only").waitFor();
      await nav(p, "Workloads");
      await waitFor(async () => (await rowsOf(p, "Pods").count()) >= 4, { what: "pods for the viewer" });
      expect(await p.getByRole("button", { name: /^(Scale|Delete)/ }).count()).to.equal(0);
      await shot(p, "view-only-narrow");
      await nav(p, "Nodes");
      await p.locator('tr[data-node="node-1"]').waitFor();
      expect(await p.getByRole("button", { name: /cordon/i }).count()).to.equal(0);
      // The view role reads no Secrets: no Secrets link, and the view says so without asking for any.
      expect(await p.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Secrets" }).count()).to.equal(0);
      await p.goto(`${cluster.apiUrl}/ui/#/secrets`);
      await p.getByText("You may not list Secrets").waitFor();
      expect(await p.locator("main").innerText()).not.to.include("s3cret-pa55");
      expect(await p.getByRole("button", { name: /Show values/ }).count()).to.equal(0);
      const status = await p.evaluate(async (token) => {
        const res = await fetch("/api/v1/namespaces/default/pods/ticker", { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
        return res.status;
      }, cluster.viewToken);
      expect(status).to.equal(403);
    } finally {
      await viewer.close();
    }
  });
});
