/**
 * Follows a container's log (`pods/log?follow=true`, a chunked text stream). Keeps the last
 * ~256 KB; sticks to the bottom unless you scrolled up. Reconnects when the stream breaks.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { request } from "../lib/api.ts";
import { reconnectDelayMs } from "../lib/watch-state.ts";

const MAX_CHARS = 256 * 1024;

export function LogPane(p: { namespace: string; pod: string; container: string; running: boolean }) {
  const [text, setText] = useState("");
  const [state, setState] = useState<"connecting" | "following" | "ended" | "error">("connecting");
  const [error, setError] = useState<string | undefined>();
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const abort = new AbortController();
    let attempt = 0;
    setText("");
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          setState("connecting");
          // After a reconnect, only what came since: no repeated lines (best effort, second resolution).
          const since = attempt > 0 ? "&sinceSeconds=2" : "&tailLines=1000";
          const url = `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.pod)}/log?follow=true&container=${encodeURIComponent(p.container)}${since}`;
          const res = await request(url, { signal: abort.signal, headers: { Accept: "text/plain" } });
          setState("following");
          setError(undefined);
          const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            setText((t) => {
              const next = t + value;
              return next.length > MAX_CHARS ? next.slice(next.length - MAX_CHARS) : next;
            });
          }
          setState("ended");
          if (!p.running) return;
          attempt = 1;
        } catch (e) {
          if (abort.signal.aborted) return;
          setState("error");
          setError(e instanceof Error ? e.message : String(e));
          attempt++;
        }
        await new Promise((r) => setTimeout(r, reconnectDelayMs(attempt)));
      }
    };
    void run();
    return () => abort.abort();
  }, [p.namespace, p.pod, p.container, p.running]);

  useEffect(() => {
    const el = pre.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <div class="logs">
      <p class="muted" aria-live="polite">
        {state === "following" ? "Following" : state === "connecting" ? "Connecting…" : state === "ended" ? "Stream ended" : `Log unavailable: ${error}`}
      </p>
      <pre
        ref={pre}
        tabIndex={0}
        role="log"
        aria-label={`Log of container ${p.container}`}
        data-testid="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text}
      </pre>
    </div>
  );
}
