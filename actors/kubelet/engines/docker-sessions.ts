/**
 * exec and attach sessions on the Docker engine (dockerode): a hijacked connection carries stdin
 * one way and the multiplexed stdout/stderr (or the terminal) the other; ending our side of it
 * closes the process's stdin. The exit code comes from inspecting the exec (or waiting for the
 * container) once the stream ends.
 */
import type Docker from "dockerode";
import type { Duplex } from "node:stream";
import type { StreamSession, SessionOptions } from "./types.ts";
import { PassThrough } from "node:stream";
import { StartError } from "./types.ts";

const message = (e: unknown) => ((e as { json?: { message?: string } }).json?.message ?? (e as Error).message).trim();

function streams(docker: Docker, stream: Duplex, tty: boolean): { stdout: PassThrough; stderr?: PassThrough } {
  const stdout = new PassThrough();
  if (tty) {
    stream.pipe(stdout);
    return { stdout };
  }
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const end = () => {
    stdout.end();
    stderr.end();
  };
  stream.on("end", end);
  stream.on("close", end);
  stream.on("error", end);
  return { stdout, stderr };
}

const ended = (stream: Duplex) => new Promise<void>((r) => {
  stream.once("end", () => r());
  stream.once("close", () => r());
  stream.once("error", () => r());
});

export async function dockerExecSession(docker: Docker, containerId: string, command: string[], o: SessionOptions): Promise<StreamSession> {
  let ex: Docker.Exec;
  let stream: Duplex;
  try {
    ex = await docker.getContainer(containerId).exec({ Cmd: command, AttachStdin: o.stdin, AttachStdout: true, AttachStderr: true, Tty: o.tty });
    stream = (await ex.start({ hijack: true, stdin: o.stdin, Tty: o.tty })) as unknown as Duplex;
  } catch (e) {
    throw new StartError(message(e));
  }
  const { stdout, stderr } = streams(docker, stream, o.tty);
  const done = ended(stream).then(async () => {
    for (let i = 0; i < 100; i++) {
      const info = await ex.inspect().catch(() => undefined);
      if (!info) return 1;
      if (!info.Running) return info.ExitCode ?? 1;
      await new Promise((r) => setTimeout(r, 20));
    }
    return 1;
  });
  return {
    stdin: o.stdin ? stream : undefined,
    stdout,
    stderr,
    resize: (w, h) => void ex.resize({ w, h }).catch(() => undefined),
    done,
    kill: () => stream.destroy(),
  };
}

export async function dockerAttachSession(docker: Docker, containerId: string, o: SessionOptions): Promise<StreamSession> {
  const c = docker.getContainer(containerId);
  let stream: Duplex;
  let tty: boolean;
  try {
    const info = await c.inspect();
    if (!info.State.Running) throw new StartError(`container ${info.Config.Labels?.["flotilla.container"] ?? containerId} is not running`);
    tty = !!info.Config.Tty;
    if (o.stdin && !info.Config.OpenStdin) throw new StartError("Unable to use a TTY - container did not allocate one / stdin is not open (set stdin: true in the container spec)");
    stream = (await c.attach({ stream: true, stdin: o.stdin, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
  } catch (e) {
    if (e instanceof StartError) throw e;
    throw new StartError(message(e));
  }
  const { stdout, stderr } = streams(docker, stream, tty);
  const done = c.wait().then((r: { StatusCode?: number }) => r.StatusCode ?? 0, () => 1);
  return {
    stdin: o.stdin ? stream : undefined,
    stdout,
    stderr,
    resize: (w, h) => void c.resize({ w, h }).catch(() => undefined),
    done: Promise.race([done, ended(stream).then(() => done)]),
    kill: () => stream.destroy(),
  };
}
