import { decodeTime, ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { floorId, newId, rewind } from "./ulid.ts";

describe("ulid cursors", () => {
  it("makes strictly increasing ids within one writer, even in the same millisecond", () => {
    const ids = Array.from({ length: 1_000 }, () => newId(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("rewinds a cursor by the skew window to the smallest id of that time", () => {
    const cursor = newId(1_700_000_010_000);
    const from = rewind(cursor, 5_000)!;
    expect(decodeTime(from)).toBe(1_700_000_005_000);
    expect(from).toBe(floorId(1_700_000_005_000));
    // An event written by a writer 2 s behind sorts after the rewound cursor, so a follower reads it.
    const late = ulid(1_700_000_008_000); // another writer's factory
    expect(late > from).toBe(true);
    expect(late < cursor).toBe(true);
  });

  it("has nothing to rewind without a cursor", () => {
    expect(rewind(undefined, 5_000)).toBeUndefined();
  });
});
