/**
 * The real kubectl 1.32 with DaemonSets, StatefulSets, Jobs and CronJobs on two simulated nodes:
 * apply, get (the server's columns), rollout status/history/undo for ds and sts, create job,
 * create cronjob, create job --from=cronjob, get all, and cascading deletion.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiEnv } from "./api-server-env.ts";
import { startApiEnv } from "./api-server-env.ts";
import { ACTORS } from "../../actors/registry.ts";
import { waitFor } from "../harness/cluster.ts";

const NS = "batch-apps";
const manifests = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${NS}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "agent:1"}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ${NS}}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${NS}}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: "db:1"}
`;

describe("kubectl with DaemonSets, StatefulSets, Jobs and CronJobs (e2e)", function () {
  this.timeout(180_000);
  let env: ApiEnv;
  const ok = async (args: string[]) => {
    const r = await env.kubectl(args, { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const header = (out: string) => out.split("\n")[0]!.trim().split(/\s{2,}/);

  before(async () => {
    env = await startApiEnv();
    await env.tc.startActors([
      { def: ACTORS.scheduler! },
      { def: ACTORS["daemonset-controller"]! },
      { def: ACTORS["statefulset-controller"]! },
      { def: ACTORS["job-controller"]! },
      { def: ACTORS["cronjob-controller"]! },
      { def: ACTORS["garbage-collector"]! },
      { def: ACTORS["namespace-controller"]! },
      { def: ACTORS.kubelet!, opts: { nodeName: "sim-1", engine: "simulated", startLatencyMs: 20 } },
      { def: ACTORS.kubelet!, opts: { nodeName: "sim-2", engine: "simulated", startLatencyMs: 20 } },
    ]);
    await ok(["create", "namespace", NS]);
  });
  after(async () => env?.stop());

  it("applies a DaemonSet and a StatefulSet, follows both rollouts and shows Kubernetes' columns", async () => {
    const f = join(env.dir, "apps.yaml");
    writeFileSync(f, manifests);
    const applied = await ok(["apply", "-f", f]);
    expect(applied).to.contain("daemonset.apps/agent created").and.to.contain("statefulset.apps/db created");
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=60s"])).to.contain('daemon set "agent" successfully rolled out');
    expect(await ok(["rollout", "status", "sts/db", "-n", NS, "--timeout=60s"])).to.match(/partitioned roll out complete: 2 new pods have been updated|statefulset rolling update complete 2 pods/);
    const ds = await ok(["get", "ds", "-n", NS]);
    expect(header(ds)).to.deep.equal(["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]);
    expect(ds).to.match(/agent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\d+s/);
    const sts = await ok(["get", "sts", "-n", NS, "-o", "wide"]);
    expect(header(sts)).to.deep.equal(["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]);
    expect(sts).to.match(/db\s+2\/2\s+\d+s\s+db\s+db:1/);
    const pods = await ok(["get", "pods", "-n", NS, "-l", "app=db", "-o", "jsonpath={.items[*].metadata.name}"]);
    expect(pods.split(" ").sort()).to.deep.equal(["db-0", "db-1"]);
  });

  it("rolls a DaemonSet to a new image, lists its revisions and undoes it", async () => {
    await ok(["set", "image", "ds/agent", "agent=agent:2", "-n", NS]);
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=60s"])).to.contain("successfully rolled out");
    expect(await ok(["rollout", "history", "ds/agent", "-n", NS])).to.match(/REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);
    expect(await ok(["rollout", "undo", "ds/agent", "-n", NS])).to.contain("daemonset.apps/agent rolled back");
    expect(await ok(["rollout", "status", "ds/agent", "-n", NS, "--timeout=60s"])).to.contain("successfully rolled out");
    expect(await ok(["get", "ds", "agent", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])).to.equal("agent:1");
    await waitFor(async () => {
      const images = (await ok(["get", "pods", "-n", NS, "-l", "app=agent", "-o", "jsonpath={.items[*].spec.containers[0].image}"])).split(" ");
      return images.length === 2 && images.every((i) => i === "agent:1");
    }, { timeoutMs: 60_000, what: "daemon pods back at agent:1" });
    expect(await ok(["rollout", "history", "ds/agent", "-n", NS])).to.match(/2\s+<none>\s+3\s+<none>/);
  });

  it("rolls a StatefulSet to a new image, lists its revisions and undoes it", async () => {
    await ok(["set", "image", "sts/db", "db=db:2", "-n", NS]);
    expect(await ok(["rollout", "status", "sts/db", "-n", NS, "--timeout=60s"])).to.contain("2 new pods have been updated");
    expect(await ok(["rollout", "history", "sts/db", "-n", NS])).to.match(/REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);
    expect(await ok(["rollout", "undo", "sts/db", "-n", NS])).to.contain("statefulset.apps/db rolled back");
    await waitFor(async () => {
      const images = (await ok(["get", "pods", "-n", NS, "-l", "app=db", "-o", "jsonpath={.items[*].spec.containers[0].image}"])).split(" ");
      return images.length === 2 && images.every((i) => i === "db:1");
    }, { timeoutMs: 60_000, what: "db pods back at db:1" });
  });

  it("creates a Job with kubectl create job and shows it Complete", async () => {
    expect(await ok(["create", "job", "pi", "--image=busybox", "-n", NS, "--", "sh", "-c", "exit 0"])).to.contain("job.batch/pi created");
    expect(await ok(["wait", "--for=condition=complete", "job/pi", "-n", NS, "--timeout=60s"])).to.contain("job.batch/pi condition met");
    const jobs = await ok(["get", "jobs", "-n", NS]);
    expect(header(jobs)).to.deep.equal(["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    expect(jobs).to.match(/pi\s+Complete\s+1\/1\s+\d+s\s+\d+s/);
  });

  it("creates a CronJob and a Job from it with kubectl create", async () => {
    expect(await ok(["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "-n", NS, "--", "sh", "-c", "exit 0"])).to.contain("cronjob.batch/tick created");
    const cj = await ok(["get", "cronjob", "-n", NS]);
    expect(header(cj)).to.deep.equal(["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]);
    expect(cj).to.match(/tick\s+\*\/5 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s/);
    expect(await ok(["create", "job", "manual", "--from=cronjob/tick", "-n", NS])).to.contain("job.batch/manual created");
    expect(await ok(["get", "job", "manual", "-n", NS, "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate}"])).to.equal("CronJob/manual");
    expect(await ok(["wait", "--for=condition=complete", "job/manual", "-n", NS, "--timeout=60s"])).to.contain("condition met");
  });

  it("describes the DaemonSet, the StatefulSet and the Job with their controllers' events", async () => {
    // Events are written by the controllers' recorders in the background: describe until they show.
    const describe = async (args: string[], ...want: RegExp[]) => {
      let out = "";
      await waitFor(async () => {
        out = await ok(["describe", ...args, "-n", NS]);
        return want.every((w) => w.test(out));
      }, { timeoutMs: 20_000, intervalMs: 500, what: `describe ${args.join(" ")}` }).catch(() => undefined);
      return out;
    };
    const ds = await describe(["ds", "agent"], /Desired Number of Nodes Scheduled:\s+2/, /Events:[\s\S]*SuccessfulCreate[\s\S]*Created pod: agent-/);
    expect(ds).to.match(/Desired Number of Nodes Scheduled:\s+2/);
    expect(ds).to.match(/Events:[\s\S]*SuccessfulCreate[\s\S]*Created pod: agent-/);
    const sts = await describe(["sts", "db"], /Replicas:\s+2 desired \| 2 total/, /SuccessfulCreate[\s\S]*create Pod db-0 in StatefulSet db successful/);
    expect(sts).to.match(/Replicas:\s+2 desired \| 2 total/);
    expect(sts).to.match(/SuccessfulCreate[\s\S]*create Pod db-0 in StatefulSet db successful/);
    const job = await describe(["job", "pi"], /Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/, /Normal\s+Completed\s+\S+\s+job-controller\s+Job completed/);
    expect(job).to.match(/Pods Statuses:\s+0 Active \(0 Ready\) \/ 1 Succeeded \/ 0 Failed/);
    expect(job, job).to.match(/Normal\s+Completed\s+\S+\s+job-controller\s+Job completed/);
  });

  it("lists the new kinds in get all and deletes their pods with them", async () => {
    const all = await ok(["get", "all", "-n", NS]);
    for (const kind of ["daemonset.apps/agent", "statefulset.apps/db", "job.batch/pi", "cronjob.batch/tick"]) expect(all).to.contain(kind);
    await ok(["delete", "ds", "agent", "-n", NS]);
    await ok(["delete", "cronjob", "tick", "-n", NS]);
    await waitFor(async () => (await ok(["get", "pods", "-n", NS, "-l", "app=agent", "-o", "name"])).trim() === "", { timeoutMs: 30_000, what: "daemon pods gone" });
    await waitFor(async () => !(await ok(["get", "jobs", "-n", NS, "-o", "name"])).includes("job.batch/manual"), { timeoutMs: 30_000, what: "the CronJob's Job gone" });
    const revisions = await ok(["get", "controllerrevisions", "-n", NS, "-o", "name"]);
    expect(revisions).to.not.match(/agent-/);
  });

  it("deletes the namespace with its StatefulSet, Jobs, pods and revisions", async () => {
    await ok(["delete", "namespace", NS, "--timeout=60s"]);
    expect((await env.kubectl(["get", "ns", NS])).stderr).to.contain(`namespaces "${NS}" not found`);
    for (const kind of ["sts", "jobs", "controllerrevisions", "pods"]) expect(await ok(["get", kind, "-A", "-o", "name"])).to.equal("");
  });
});
