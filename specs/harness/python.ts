/** The Kubernetes Python client (Debian's python3-kubernetes, /usr/bin/python3) run against a spec's cluster. */
import { spawn } from "node:child_process";

export const PYTHON = "/usr/bin/python3";

/** Runs a fixture script with the cluster's kubeconfig; resolves with its exit code and its output. */
export function runPython(script: string, env: { home: string; kubeconfig: string }, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ["-W", "ignore::ResourceWarning", script], { env: { ...process.env, HOME: env.home, KUBECONFIG: env.kubeconfig }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, output });
    });
  });
}
