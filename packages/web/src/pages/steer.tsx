import type { TaskWire } from "@conveyor/client/api";
import { useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords } from "../errors.ts";

/** Nudge a running task, or cancel it (a second press confirms); the API's refusals in words. */
export function Steer({
  ctx,
  task,
  onChanged,
}: {
  ctx: Ctx;
  task: TaskWire;
  onChanged: (task: TaskWire) => void;
}) {
  const [message, setMessage] = useState("");
  const [note, setNote] = useState<{ text: string; error?: boolean }>();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const nudge = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setNote(undefined);
    try {
      await ctx.api.nudge(task.taskId, message);
      setMessage("");
      setNote({ text: "Nudge sent: the agent takes it at its next turn." });
    } catch (failure) {
      setNote({ text: inWords(failure), error: true });
    } finally {
      setBusy(false);
    }
  };

  const cancel = async () => {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    setBusy(true);
    setNote(undefined);
    try {
      const updated = await ctx.api.cancel(task.taskId);
      onChanged(updated);
      setNote({
        text:
          updated.status === "CANCELLED"
            ? "Cancelled."
            : "Cancel requested: the agent stops at its next boundary.",
      });
    } catch (failure) {
      setNote({ text: inWords(failure), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="steer">
      <form class="nudge" onSubmit={nudge}>
        <label for="nudge">Nudge the agent</label>
        <div class="row">
          <input
            id="nudge"
            name="nudge"
            value={message}
            placeholder="e.g. also update the README"
            maxLength={2000}
            onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            Send nudge
          </button>
          <button
            type="button"
            class={confirming ? "danger" : "secondary"}
            disabled={busy}
            onClick={cancel}
            onBlur={() => setConfirming(false)}
          >
            {confirming ? "Confirm cancel" : "Cancel task"}
          </button>
        </div>
      </form>
      <p class={note?.error ? "field-error" : "muted small"} role={note?.error ? "alert" : "status"}>
        {note?.text ?? "\u00a0"}
      </p>
    </div>
  );
}
