/**
 * exec and attach sessions for host-process containers (process engine). exec spawns the command
 * with the container's environment and working directory, inside its mount namespace when it has
 * one and as the container's user (`argv` comes prepared by the engine: nsenter, then setpriv); a
 * terminal (`-t`) is a pseudo-terminal from util-linux `script`, opened outside and handed down.
 * attach follows the container's log from its current end until the container exits (the
 * container's own stdin is not connected: it was started without one).
 */
import type { StreamSession, SessionOptions } from "./types.ts";
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { PassThrough } from "node:stream";
import { StartError } from "./types.ts";
import { followFile } from "./log-files.ts";

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function hostExecSession(argv: string[], env: Record<string, string>, cwd: string, o: SessionOptions): Promise<StreamSession> {
  const [cmd, ...args] = o.tty ? ["script", "-qfec", argv.map(shellQuote).join(" "), "/dev/null"] : argv;
  const p = spawn(cmd!, args, { cwd, env: o.tty ? { TERM: "xterm", ...env } : env, stdio: ["pipe", "pipe", "pipe"], detached: true });
  return new Promise((resolve, reject) => {
    p.once("error", (e) => reject(new StartError(`exec: ${e.message}`)));
    p.once("spawn", () => {
      if (!o.stdin) p.stdin.end();
      p.stdin.on("error", () => undefined);
      const done = new Promise<number>((r) => p.once("close", (code, signal) => r(code ?? (signal ? 128 + 9 : 1))));
      const stdout = new PassThrough();
      p.stdout.pipe(stdout);
      let stderr: PassThrough | undefined;
      if (o.tty) p.stderr.pipe(stdout, { end: false });
      else {
        stderr = new PassThrough();
        p.stderr.pipe(stderr);
      }
      resolve({
        stdin: o.stdin ? p.stdin : undefined,
        stdout,
        stderr,
        resize: () => undefined,
        done,
        kill: () => {
          try {
            process.kill(-p.pid!, "SIGKILL");
          } catch {
            /* gone */
          }
        },
      });
    });
  });
}

/** Output of a running container from now on; `exitCode()` is undefined while it runs. */
export function hostAttachSession(logFile: string, exitCode: () => number | undefined, o: SessionOptions): StreamSession {
  if (o.stdin) throw new StartError("attaching stdin is not supported by the process engine (its containers run without stdin)");
  const f = followFile(logFile, statSync(logFile).size, () => exitCode() !== undefined);
  const stdout = new PassThrough();
  const done = (async () => {
    for await (const c of f.chunks) if (!stdout.write(c)) await new Promise((r) => stdout.once("drain", r));
    stdout.end();
    return exitCode() ?? 0;
  })();
  return { stdout, resize: () => undefined, done, kill: () => f.cancel() };
}
