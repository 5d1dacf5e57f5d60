import { describe, expect, it } from "vitest";
import { parseCommand } from "./parse.ts";

const ID = "01JF7Q9ZC3M8X2V6T4R5N7P8KB";

describe("parseCommand", () => {
  it("reads a task from the first line, and keeps the lines after it as its description", () => {
    expect(parseCommand("/conveyor fix the flaky test")).toEqual({ kind: "run", text: "fix the flaky test" });
    expect(parseCommand("/conveyor fix it\r\nIt fails on CI.\r\n")).toEqual({
      kind: "run",
      text: "fix it\nIt fails on CI.",
    });
    expect(parseCommand("  /Conveyor  tidy up ")).toEqual({ kind: "run", text: "tidy up" });
  });

  it("is not a command unless the first line starts with /conveyor as a word", () => {
    expect(parseCommand("LGTM\n/conveyor fix it")).toBeUndefined();
    expect(parseCommand("/conveyorize this")).toBeUndefined();
    expect(parseCommand("please /conveyor fix it")).toBeUndefined();
    expect(parseCommand("")).toBeUndefined();
    expect(parseCommand("> /conveyor fix it")).toBeUndefined();
  });

  it("reads nudge with its text, on the first line or below", () => {
    expect(parseCommand("/conveyor nudge use pnpm")).toEqual({ kind: "nudge", text: "use pnpm" });
    expect(parseCommand("/conveyor NUDGE\nuse pnpm\nnot npm")).toEqual({
      kind: "nudge",
      text: "use pnpm\nnot npm",
    });
    expect(parseCommand("/conveyor nudge")).toMatchObject({ kind: "usage" });
  });

  it("reads cancel alone; anything after it is a usage error, never a task called 'cancel …'", () => {
    expect(parseCommand("/conveyor cancel")).toEqual({ kind: "cancel" });
    expect(parseCommand("/conveyor cancel\nthanks")).toEqual({ kind: "cancel" });
    expect(parseCommand("/conveyor cancel the old one")).toMatchObject({ kind: "usage" });
  });

  it("reads approve and deny with an optional approval id and a comment below", () => {
    expect(parseCommand("/conveyor approve")).toEqual({ kind: "approve" });
    expect(parseCommand(`/conveyor deny ${ID}\nnot on main`)).toEqual({
      kind: "deny",
      approvalId: ID,
      comment: "not on main",
    });
    expect(parseCommand("/conveyor approve the plan")).toMatchObject({ kind: "usage" });
    expect(parseCommand(`/conveyor approve ${ID} ${ID}`)).toMatchObject({ kind: "usage" });
  });

  it("asks what to do when /conveyor stands alone", () => {
    expect(parseCommand("/conveyor")).toMatchObject({
      kind: "usage",
      problem: expect.stringContaining("what to do"),
    });
  });

  it("keeps hostile text as it is: rendering, not parsing, makes it inert", () => {
    const text = '<img src=x onerror="alert(1)"> @org/team [x](javascript:alert(1))';
    expect(parseCommand(`/conveyor ${text}`)).toEqual({ kind: "run", text });
  });
});
