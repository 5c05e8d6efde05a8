/**
 * A modal confirmation on the native <dialog>: showModal() makes the rest of the page inert (focus
 * stays inside) and Escape cancels. The confirm action may fail: its message is shown in place.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface ConfirmDialogProps {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  children?: ComponentChildren;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}

export function ConfirmDialog(p: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    return () => d.open && d.close();
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await p.onConfirm();
      p.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onCancel={(e) => (e.preventDefault(), p.onClose())}>
      <form method="dialog" onSubmit={submit}>
        <h2 id="dialog-title">{p.title}</h2>
        <div class="dialog-body">{p.children}</div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={p.onClose} autofocus>
            Cancel
          </button>
          <button type="submit" class={p.danger ? "danger" : "primary"} disabled={busy}>
            {busy ? "Working…" : p.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
