import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { AgentOptions, isBranchName } from "./options.ts";

describe("AgentOptions", () => {
  it("gives the scripted brain its defaults and ignores what it does not use", () => {
    expect(v.parse(AgentOptions.Scripted, { brain: "scripted", turns: 2 })).toEqual({
      turns: 2,
      stepMs: 200,
      ignoreCancel: false,
      ignoreNudges: false,
    });
  });

  it("takes the scripted brain's approval gate: a turn, and a timeout of 30 s to a day", () => {
    expect(v.safeParse(AgentOptions.Input, { approveAt: 2, approvalTimeoutS: 30 }).success).toBe(true);
    for (const [key, value] of [
      ["approveAt", 0],
      ["approvalTimeoutS", 29],
      ["approvalTimeoutS", 86_401],
      ["approvalTimeoutS", 60.5],
    ] as const) {
      const refused = v.safeParse(AgentOptions.Input, { [key]: value });
      expect(refused.success, `${key}=${value}`).toBe(false);
      expect(refused.issues?.[0]?.path?.map((p) => p.key)).toEqual([key]);
    }
  });

  it("checks options against the scripted brain when the task names none", () => {
    expect(v.safeParse(AgentOptions.Input, { turns: 3 }).success).toBe(true);
    const refused = v.safeParse(AgentOptions.Input, { model: "opus" });
    expect(refused.issues?.[0]?.message).toMatch(
      /^not an option of the scripted brain \(allowed: brain, turns,/,
    );
    expect(refused.issues?.[0]?.path?.map((p) => p.key)).toEqual(["model"]);
  });

  it("checks options against the brain the task names", () => {
    expect(v.safeParse(AgentOptions.Input, { brain: "claude", model: "m", branch: "a/b" }).success).toBe(
      true,
    );
    const refused = v.safeParse(AgentOptions.Input, { brain: "claude", turns: 3 });
    expect(refused.issues?.[0]?.message).toBe(
      "not an option of the claude brain (allowed: brain, model, branch)",
    );
  });

  it("keeps DESIGN's limits for any option", () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    expect(v.safeParse(AgentOptions.Input, many).issues?.[0]?.message).toBe("at most 20 options");
    expect(v.safeParse(AgentOptions.Input, { ["k".repeat(65)]: 1 }).issues?.[0]?.message).toBe(
      "option names are 1 to 64 characters",
    );
    expect(v.safeParse(AgentOptions.Input, { brain: "claude", model: "m".repeat(257) }).success).toBe(false);
  });

  it("returns the options as given, without any brain's defaults", () => {
    expect(v.parse(AgentOptions.Input, { turns: 1 })).toEqual({ turns: 1 });
  });

  it.each(["main", "conveyor/fix-health", "feature/a.b", "v1.2"])("takes %s as a branch name", (name) => {
    expect(isBranchName(name)).toBe(true);
  });

  it.each([
    "",
    "@",
    "a b",
    "a..b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a@{1}",
    "-x",
    "/x",
    "x/",
    "a//b",
    "x.",
    ".hidden",
    "a/.b",
    "x.lock",
    "a/b.lock/c",
    "tab\there",
  ])("refuses %j as a branch name", (name) => {
    expect(isBranchName(name)).toBe(false);
  });
});
