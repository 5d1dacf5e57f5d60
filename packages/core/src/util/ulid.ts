import { decodeTime, encodeTime, monotonicFactory } from "ulid";

/** One monotonic factory per writer process: ids from one writer are strictly increasing. */
export const newId = monotonicFactory();

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The smallest ULID whose time is `ms`. */
export function floorId(ms: number): string {
  return `${encodeTime(Math.max(0, ms), 10)}${"0".repeat(16)}`;
}

/**
 * Where a follower resumes: its cursor rewound by the skew window, so an event
 * committed late by a writer up to `skewMs` behind is still read (then deduped).
 */
export function rewind(cursor: string | undefined, skewMs: number): string | undefined {
  if (!cursor) return undefined;
  return floorId(decodeTime(cursor) - skewMs);
}

export function idTime(id: string): number {
  return decodeTime(id);
}
