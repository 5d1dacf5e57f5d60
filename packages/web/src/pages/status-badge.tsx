import { statusLabel } from "../format.ts";

/** A status in words, coloured by what it means (not by colour alone: the word is always there). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge s-${status.toLowerCase()}`} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}
