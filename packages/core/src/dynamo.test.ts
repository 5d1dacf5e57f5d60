import { describe, expect, it, vi } from "vitest";
import { commit, pages, TransactionCanceled } from "./dynamo.ts";
import { logger } from "./log.ts";

/** A transaction as ElectroDB answers it: committed, or canceled with a code per item. */
const tx = (codes?: string[]) => ({
  go: async () => ({ canceled: codes !== undefined, data: (codes ?? []).map((code) => ({ code })) }),
});

describe("commit", () => {
  it("runs a write's follow-ups after it commits, in order", async () => {
    const ran: string[] = [];
    await commit(tx(), [async () => ran.push("expire"), async () => ran.push("promote")]);
    expect(ran).toEqual(["expire", "promote"]);
  });

  it("keeps a committed write when a follow-up fails, and runs the ones after it", async () => {
    const ran: string[] = [];
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    try {
      await commit(tx(), [
        async () => {
          throw new Error("table unreachable");
        },
        async () => ran.push("promote"),
      ]);
      expect(ran).toEqual(["promote"]);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("follow-up"), {
        error: "Error: table unreachable",
      });
    } finally {
      warn.mockRestore();
    }
  });

  it("never runs the follow-ups of a write that was canceled", async () => {
    const ran: string[] = [];
    const write = commit(tx(["ConditionalCheckFailed", "None"]), [async () => ran.push("expire")]);
    await expect(write).rejects.toBeInstanceOf(TransactionCanceled);
    expect(ran).toEqual([]);
  });
});

describe("pages", () => {
  it("follows the cursor until the last page", async () => {
    const stored: Record<string, { data: number[]; cursor: string | null }> = {
      start: { data: [1, 2], cursor: "b" },
      b: { data: [3], cursor: "c" },
      c: { data: [], cursor: null },
    };
    const asked: (string | null)[] = [];
    const seen: number[][] = [];
    for await (const page of pages(async (cursor) => {
      asked.push(cursor);
      return stored[cursor ?? "start"]!;
    })) {
      seen.push(page);
    }
    expect(asked).toEqual([null, "b", "c"]);
    expect(seen).toEqual([[1, 2], [3], []]);
  });
});
