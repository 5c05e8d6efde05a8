/**
 * `flotilla up --network pod` (root): the node gets a podCIDR, pods get addresses from it, Services
 * are kernel rules with ClusterIPs from 10.96.0.0/12, the cluster DNS answers on 10.96.0.10, and
 * the example's web pods reach the backend by the name `backend`. Stopping the cluster leaves no
 * namespace, bridge or FLT chain behind.
 */
import type { RunningCluster } from "../../cli/up.ts";
import type { Endpoints, KubeList, Pod, Service } from "../../bus/resources.ts";
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { up } from "../../cli/up.ts";
import { applyExample, httpText } from "../../cli/example.ts";
import { networkPlan } from "../../cli/pod-network-mode.ts";
import { ApiClient, pathFor } from "../../cli/http.ts";
import { resourceType } from "../../bus/kinds.ts";
import { inCidr } from "../../bus/cidr.ts";
import { canUseNetns } from "../harness/netns.ts";
import { unavailable } from "../harness/optional.ts";
import { runCluster } from "../harness/run.ts";
import { waitFor } from "../harness/cluster.ts";
import { podNetnsName } from "../../actors/kubelet/pod-network.ts";

const sh = (cmd: string) => execFileSync("sh", ["-c", cmd], { encoding: "utf8" });

describe("flotilla up --network pod", function () {
  this.timeout(240_000);

  describe("the plan", () => {
    it("keeps loopback mode, with the reason, when pod networking cannot be had", () => {
      const p = networkPlan("pod", "network namespaces need root");
      expect(p).to.include({ mode: "loopback", fallback: "network namespaces need root" });
      expect(p.storeOpts).to.deep.equal({});
      expect(p.kubeletOpts(0)).to.deep.equal({ network: "pod" });
    });
    it("allocates ClusterIPs from 10.96.0.0/12 and programs Services into the kernel in pod mode", () => {
      const p = networkPlan("pod", undefined);
      expect(p.storeOpts).to.deep.equal({ serviceCidr: "10.96.0.0/12" });
      expect(p.proxyOpts).to.include({ mode: "kernel", serviceCIDR: "10.96.0.0/12" });
      expect(p.kubeletOpts(1)).to.include({ network: "pod", podBridge: "flt1" });
    });
  });

  describe("a cluster on this machine", () => {
    let dir: string;
    let c: RunningCluster | undefined;
    let localnet: string;
    before(async function () {
      if (!canUseNetns()) unavailable(this, "network namespaces", "run as root with iproute2 and iptables");
      if (sh("ip -o link show").includes(" flt0:")) unavailable(this, "the flt0 bridge", "another pod-network cluster runs on this machine");
      localnet = sh("sysctl -n net.ipv4.conf.all.route_localnet").trim();
      dir = mkdtempSync(join(tmpdir(), "flotilla-up-podnet-"));
      c = await up({ dataDir: join(dir, "data"), nodes: 1, port: 0, quiet: true, cluster: runCluster("pn"), network: "pod" });
    });
    after(async () => {
      await c?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("runs the example with pod addresses, kernel Services and the backend found by its DNS name", async () => {
      expect(c!.network).to.equal("pod");
      expect(c!.engine).to.equal("process");
      // Before any request: a service-CIDR address that no rule translates is refused on this host,
      // never sent along the default route.
      const rules = await waitFor(() => {
        const out = execFileSync("iptables", ["-w", "5", "-S", "FLT-SERVICES"], { encoding: "utf8" });
        return out.includes("-d 10.96.0.0/12") ? out : undefined;
      }, { timeoutMs: 20_000, what: "the service CIDR's reject rule" });
      expect(rules.trim().split("\n").at(-1)).to.match(/-d 10\.96\.0\.0\/12 .*-j REJECT --reject-with icmp-net-unreachable$/);
      const r = await applyExample(c!, { print: () => undefined });
      expect(r.backend).to.match(/hello from backend/);
      const api = ApiClient.fromKubeconfig(c!.kubeconfig);
      const pods = await api.get<KubeList<Pod>>(pathFor(resourceType("pods")!, { namespace: "default" }));
      expect(pods.items).to.have.length(4);
      for (const p of pods.items) expect(inCidr(p.status!.podIP!, "10.244.0.0/16"), p.status!.podIP).to.equal(true);
      const dnsSvc = await api.get<Service>(pathFor(resourceType("services")!, { namespace: "kube-system", name: "kube-dns" }));
      expect(dnsSvc.spec.clusterIP).to.equal("10.96.0.10");
      const web = await api.get<Service>(pathFor(resourceType("services")!, { namespace: "default", name: "web" }));
      expect(inCidr(web.spec.clusterIP!, "10.96.0.0/12")).to.equal(true);
      // The web pods were told nothing but the name.
      const webPod = pods.items.find((p) => p.metadata.labels?.app === "web")!;
      const log = await api.get<string>(`/api/v1/namespaces/default/pods/${webPod.metadata.name}/log`);
      expect(log).to.include("backend at backend:8081");
      // NodePorts answer on 127.0.0.1 too.
      expect((await httpText(r.nodePortUrl!)).status).to.equal(200);
    });

    it("lets a pod reach the API at https://kubernetes.default.svc", async () => {
      const api = ApiClient.fromKubeconfig(c!.kubeconfig);
      const eps = await api.get<Endpoints>(pathFor(resourceType("endpoints")!, { namespace: "default", name: "kubernetes" }));
      const ip = eps.subsets?.[0]?.addresses?.[0]?.ip ?? "";
      expect(inCidr(ip, "10.244.0.0/16"), `the kubernetes endpoint ${ip} is the node bridge's address`).to.equal(true);
      const pods = await api.get<KubeList<Pod>>(pathFor(resourceType("pods")!, { namespace: "default" }));
      const ns = podNetnsName(pods.items.find((p) => p.metadata.labels?.app === "web")!.metadata.uid!);
      // curl inside the pod's namespace, with the pod's resolv.conf (ip netns exec mounts it),
      // verifying the serving certificate against the cluster CA: by the Service's name and by the
      // ClusterIP a pod's KUBERNETES_SERVICE_HOST gives. The dns actor answering runs in this
      // process, so the calls are asynchronous.
      const ca = join(dir, "data", "pki", "ca.crt");
      const kube = await api.get<Service>(pathFor(resourceType("services")!, { namespace: "default", name: "kubernetes" }));
      for (const url of ["https://kubernetes.default.svc/version", `https://${kube.spec.clusterIP}/version`]) {
        const version = await waitFor(async () => {
          const r = await promisify(execFile)("ip", ["netns", "exec", ns, "curl", "-sS", "--cacert", ca, "--max-time", "5", url], { encoding: "utf8" }).catch(() => undefined);
          return r?.stdout.includes("gitVersion") ? r.stdout : undefined;
        }, { timeoutMs: 30_000, what: `${url} from a pod, verified against the cluster CA` });
        expect(JSON.parse(version), url).to.have.property("gitVersion");
      }
    });

    it("lets the Python client's in-cluster config verify the API's certificate from a pod", async () => {
      const script = [
        "from kubernetes import client, config",
        "config.load_incluster_config()",
        "c = client.Configuration.get_default_copy()",
        "print('host=%s verify=%s' % (c.host, c.verify_ssl), flush=True)",
        "print('version=' + client.VersionApi().get_code().git_version, flush=True)",
        "import time; time.sleep(3600)",
      ].join("\n");
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "incluster", namespace: "default" }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: "python", command: ["/usr/bin/python3", "-c", script] }] } };
      const api = ApiClient.fromKubeconfig(c!.kubeconfig);
      await api.request("POST", pathFor(resourceType("pods")!, { namespace: "default" }), { body: pod });
      const log = await waitFor(async () => {
        const l = await api.get<string>("/api/v1/namespaces/default/pods/incluster/log").catch(() => undefined);
        return typeof l === "string" && /version=|Error/.test(l) ? l : undefined;
      }, { timeoutMs: 60_000, what: "the in-cluster client's output" });
      expect(log).to.match(/host=https:\/\/10\.96\.0\.1:443 verify=True/);
      expect(log).to.match(/version=v\d/);
      await api.request("DELETE", pathFor(resourceType("pods")!, { namespace: "default", name: "incluster" }), { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
    });

    it("leaves no namespace, bridge, FLT chain or sysctl change behind when it stops", async () => {
      // Other clusters on this machine may hold pod namespaces of their own: look for this one's.
      const api = ApiClient.fromKubeconfig(c!.kubeconfig);
      const uids = (await api.get<KubeList<Pod>>(pathFor(resourceType("pods")!))).items.map((p) => p.metadata.uid!);
      expect(uids).to.not.be.empty;
      await c!.stop();
      c = undefined;
      const left = sh("ip netns list");
      for (const uid of uids) expect(left).to.not.include(podNetnsName(uid));
      expect(sh("ip -o link show")).to.not.match(/ flt0[:@]| vflt/);
      expect(sh("iptables-save")).to.not.include("FLT-");
      expect(sh("sysctl -n net.ipv4.conf.all.route_localnet").trim()).to.equal(localnet);
    });
  });
});
