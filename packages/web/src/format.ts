export const money = (usd: number) => `$${usd.toFixed(usd >= 1 ? 2 : 4)}`;

export function ago(iso: string, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour12: false });

export const statusLabel = (status: string) => status.replace(/_/g, " ").toLowerCase();

/** One line of JSON or text for a row; the detail pane shows all of it. */
export function oneLine(value: unknown, max = 160): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = (text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export const pretty = (value: unknown) =>
  typeof value === "string" ? value : JSON.stringify(value, null, 2);
