/**
 * What the bench scripts share: percentiles, one printed line per figure, and reading a
 * task's events through the typed API client (the same one the CLI and dashboard use).
 */
import type { Api, EventWire } from "@conveyor/client/api";

/** Nearest rank: with few samples p99 is the slowest one. */
export function percentile(samples: number[], p: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** `name  p50 … ms   p99 … ms   (n=…)`, padded so several lines align. */
export const latencyLine = (name: string, samples: number[], width = 58) =>
  `${name.padEnd(width)} p50 ${percentile(samples, 0.5).toFixed(0)} ms   p99 ${percentile(samples, 0.99).toFixed(0)} ms   (n=${samples.length})`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every stored event of a task, oldest first, paged as any client would. */
export async function allEvents(api: Api, taskId: string): Promise<EventWire[]> {
  const all: EventWire[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await api.events(taskId, { after, limit: 100 });
    all.push(...page.events);
    if (page.events.length < 100) return all;
    after = page.events.at(-1)?.eventId;
  }
}

/** Polls `probe` until it returns something, or fails saying what it waited for. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** An event's data as a record (the wire type is any JSON). */
export const dataOf = (event: EventWire) => (event.data ?? {}) as Record<string, unknown>;
