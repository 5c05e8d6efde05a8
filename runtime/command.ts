/** Runs system commands (ip, iptables, …) as data: a result, never a throw. */
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Runner = (cmd: string, args: string[], stdin?: string) => Promise<CommandResult>;

/** Runs a command (inside a network namespace when asked), never throwing. */
export function commandRunner(netns?: string): Runner {
  return (cmd, args, stdin) =>
    new Promise((resolve) => {
      const [c, a] = netns ? ["ip", ["netns", "exec", netns, cmd, ...args]] : [cmd, args];
      const p = spawn(c, a, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => (stdout += d));
      p.stderr.on("data", (d) => (stderr += d));
      p.on("error", (e) => resolve({ code: 127, stdout, stderr: String(e) }));
      p.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      p.stdin.on("error", () => undefined);
      p.stdin.end(stdin ?? "");
    });
}

