import { describe, expect, it } from "vitest";
import { coerce, parseInvocation, parseOption, UsageError } from "./args.ts";

describe("coerce", () => {
  it.each([
    ["3", 3],
    ["-2", -2],
    ["0.5", 0.5],
    ["0", 0],
    ["true", true],
    ["false", false],
    ["sonnet", "sonnet"],
    ["", ""],
    ["007", "007"],
    ["1e3", "1e3"],
    ["12345678901234567890", "12345678901234567890"],
    ["True", "True"],
  ])("turns %j into %j", (raw, value) => {
    expect(coerce(raw)).toBe(value);
  });
});

describe("parseOption", () => {
  it("splits at the first = only", () => {
    expect(parseOption("query=a=b")).toEqual(["query", "a=b"]);
  });

  it.each(["novalue", "=3"])("refuses %j", (raw) => {
    expect(() => parseOption(raw)).toThrow(UsageError);
  });
});

describe("parseInvocation", () => {
  it("takes --interrupt on nudge, and queues by default", () => {
    expect(parseInvocation(["nudge", "01J", "look", "again", "--interrupt"])).toMatchObject({
      command: "nudge",
      taskId: "01J",
      message: "look again",
      interrupt: true,
    });
    expect(parseInvocation(["nudge", "01J", "look"])).not.toHaveProperty("interrupt");
    expect(() => parseInvocation(["cancel", "01J", "--interrupt"])).toThrow(UsageError);
  });

  it("reads a run with every submit flag", () => {
    const inv = parseInvocation([
      "run",
      "Fix the flaky test",
      "--repo",
      "acme/app",
      "--pr",
      "12",
      "--issue",
      "7",
      "--max-turns",
      "30",
      "--budget",
      "2.5",
      "--idempotency-key",
      "k1",
    ]);

    expect(inv).toEqual({
      command: "run",
      global: { output: "text" },
      body: {
        repo: "acme/app",
        description: "Fix the flaky test",
        prNumber: 12,
        issueNumber: 7,
        maxTurns: 30,
        maxBudgetUsd: 2.5,
        options: undefined,
      },
      idempotencyKey: "k1",
      poll: false,
    });
  });

  it("sets options.brain from --brain, beside other options, and refuses an unknown brain", () => {
    const inv = parseInvocation([
      "run",
      "fix it",
      "--repo",
      "a/b",
      "--brain",
      "claude",
      "--option",
      "turns=2",
    ]);
    expect(inv).toMatchObject({ body: { options: { brain: "claude", turns: 2 } } });
    expect(() => parseInvocation(["run", "fix it", "--repo", "a/b", "--brain", "gpt"])).toThrow(/--brain/);
  });

  it("accumulates repeated --option flags, coerced", () => {
    const inv = parseInvocation([
      "submit",
      "x",
      "--repo",
      "a/b",
      "--option",
      "turns=3",
      "--option",
      "fast=true",
      "--option",
      "model=opus",
    ]);

    expect(inv).toMatchObject({ body: { options: { turns: 3, fast: true, model: "opus" } } });
  });

  it("joins unquoted description words", () => {
    expect(parseInvocation(["submit", "fix", "the", "bug", "--repo", "a/b"])).toMatchObject({
      body: { description: "fix the bug" },
    });
  });

  it("reads global flags anywhere on the line", () => {
    const inv = parseInvocation(["--output", "json", "status", "01J", "--api-url", "http://x", "--token=t"]);

    expect(inv).toEqual({
      command: "status",
      global: { output: "json", apiUrl: "http://x", token: "t" },
      taskId: "01J",
    });
  });

  it("reads --ws-url anywhere, and --poll or --no-ws to follow without the WebSocket", () => {
    expect(parseInvocation(["--ws-url", "ws://x", "watch", "01J"])).toEqual({
      command: "watch",
      global: { output: "text", wsUrl: "ws://x" },
      taskId: "01J",
      poll: false,
    });
    expect(parseInvocation(["watch", "01J", "--poll"])).toMatchObject({ poll: true });
    expect(parseInvocation(["run", "x", "--repo", "a/b", "--no-ws"])).toMatchObject({ poll: true });
  });

  it("gives events and list their defaults", () => {
    expect(parseInvocation(["events", "01J"])).toMatchObject({ limit: 50, all: false, after: undefined });
    expect(parseInvocation(["list", "--status", "running"])).toMatchObject({ limit: 20, status: "RUNNING" });
  });

  it("answers help for --help, with or without a command", () => {
    expect(parseInvocation(["--help"])).toEqual({ command: "help" });
    expect(parseInvocation(["watch", "-h"])).toEqual({ command: "help", topic: "watch" });
    expect(parseInvocation(["help", "list"])).toEqual({ command: "help", topic: "list" });
  });

  it.each([
    [[], /Missing command/],
    [["deploy"], /Unknown command "deploy"/],
    [["status", "01J", "--bogus"], /^Unknown flag --bogus$/],
    [["status", "01J", "--repo", "a/b"], /--repo is not an option of status/],
    [["submit", "x", "--repo", "a/b", "--poll"], /--poll is not an option of submit/],
    [["status", "01J", "--no-ws"], /--no-ws is not an option of status/],
    [["status"], /status takes one task id/],
    [["status", "a", "b"], /status takes one task id/],
    [["run", "--repo", "a/b"], /run needs a description/],
    [["run", "x"], /run needs --repo/],
    [["run", "x", "--repo", "a/b", "--pr", "twelve"], /--pr must be a whole number/],
    [["run", "x", "--repo", "a/b", "--budget", "lots"], /--budget must be an amount in USD/],
    [["list", "--output", "yaml"], /--output must be text or json/],
    [["list", "extra"], /list takes no arguments/],
    [["list", "--token", ""], /^--token is empty; give it a value or leave it out$/],
    [["list", "--api-url="], /^--api-url is empty/],
    [["run", "x", "--repo"], /^--repo needs a value$/],
    [["run", "x", "--repo", "--pr", "3"], /^--repo needs a value$/],
    [["events", "01J", "--all=yes"], /^--all takes no value$/],
    [
      ["run", "x", "--repo", "a/b", "--approval-timeout", "10"],
      /^--approval-timeout is seconds from 30 to 86400, got 10$/,
    ],
    [["run", "x", "--repo", "a/b", "--approval-timeout", "5m"], /^--approval-timeout must be a whole number/],
    [["approve"], /^approve needs a task id/],
    [["deny", "01J", "01A", "not", "this"], /a note goes in --comment/],
    [["approve", "01J", "--comment"], /^--comment needs a value$/],
    [["approve", "01J", "--comment", " "], /^--comment is empty/],
    [
      ["approve", "01J", "--comment", "--force is ok"],
      /^--comment's value starts with "-": write --comment="<value>"$/,
    ],
    [["approve", "01J", "--comment", "x".repeat(2001)], /^--comment is at most 2000 characters/],
    [["approvals", "01J"], /approvals --task 01J/],
    [["approvals", "--task", "01J", "--cursor", "c"], /--cursor pages approvals across tasks/],
    [["approvals", "--comment"], /--comment is not an option of approvals/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseInvocation(argv)).toThrow(message);
  });

  it.each([
    [["stauts", "01J"], 'Unknown command "stauts". Did you mean "status"?'],
    [["lst"], 'Unknown command "lst". Did you mean "list"?'],
    [["help", "cancle"], 'Unknown command "cancle". Did you mean "cancel"?'],
    [["list", "--limt", "5"], "Unknown flag --limt. Did you mean --limit?"],
    [["run", "x", "--repo", "a/b", "--max", "3"], "Unknown flag --max. Did you mean --max-turns?"],
    [["events", "01J", "--aftr", "x"], "Unknown flag --aftr. Did you mean --after?"],
    [["list", "--outptu", "json"], "Unknown flag --outptu. Did you mean --output?"],
    [["aprove", "01J"], 'Unknown command "aprove". Did you mean "approve"?'],
    [["deney", "01J"], 'Unknown command "deney". Did you mean "deny"?'],
    [["approvls"], 'Unknown command "approvls". Did you mean "approvals"?'],
    [["approvals", "--pendng"], "Unknown flag --pendng. Did you mean --pending?"],
    [
      ["run", "x", "--repo", "a/b", "--aprovals", "ask"],
      "Unknown flag --aprovals. Did you mean --approvals?",
    ],
    [
      ["run", "x", "--repo", "a/b", "--approvals", "al"],
      '--approvals is ask, auto or all, got "al". Did you mean "all"?',
    ],
    [
      ["run", "x", "--repo", "a/b", "--allow", "network,rm-recursve"],
      '--allow takes a rule id (force-push, delete-branch, rm-recursive, network, ci-config, tool), got "rm-recursve". Did you mean "rm-recursive"?',
    ],
  ])("answers %j with what was probably meant", (argv, message) => {
    expect(() => parseInvocation(argv)).toThrow(expect.objectContaining({ name: "UsageError", message }));
  });

  it("suggests the command's own flag before another command's", () => {
    // --pll and --pall are each one edit from both --poll (watch, run) and --all (events).
    expect(() => parseInvocation(["watch", "01J", "--pll"])).toThrow("Did you mean --poll?");
    expect(() => parseInvocation(["events", "01J", "--pall"])).toThrow("Did you mean --all?");
  });

  it("names the command in an unknown-flag error so help can point at it", () => {
    expect(() => parseInvocation(["list", "--limt", "5"])).toThrow(
      expect.objectContaining({ command: "list" }),
    );
  });

  it("reads approve and deny: task, optional approval id, a comment's text", () => {
    expect(parseInvocation(["approve", "01J", "01A", "--comment=--force is fine here"])).toMatchObject({
      command: "approve",
      taskId: "01J",
      approvalId: "01A",
      comment: "--force is fine here",
    });
    expect(parseInvocation(["deny", "01J"])).toEqual({
      command: "deny",
      global: { output: "text" },
      taskId: "01J",
    });
    // status's --comment stays a switch.
    expect(parseInvocation(["status", "01J", "--comment"])).toMatchObject({
      command: "status",
      comment: true,
    });
  });

  it("reads approvals with its filters", () => {
    expect(parseInvocation(["approvals", "--pending", "--task", "01J"])).toMatchObject({
      command: "approvals",
      pending: true,
      taskId: "01J",
    });
    expect(parseInvocation(["approvals", "--cursor", "c1"])).toMatchObject({ pending: false, cursor: "c1" });
  });

  it("sends approvals only when asked, mode ask when only rules or a timeout are given", () => {
    const body = (argv: string[]) => {
      const inv = parseInvocation(["submit", "x", "--repo", "a/b", ...argv]);
      return inv.command === "submit" ? inv.body.approvals : "not a submit";
    };

    expect(body([])).toBeUndefined();
    expect(body(["--approvals", "auto"])).toEqual({ mode: "auto" });
    expect(body(["--allow", "network", "--allow", "network,tool", "--approval-timeout", "30"])).toEqual({
      mode: "ask",
      allow: ["network", "tool"],
      timeoutS: 30,
    });
  });

  it("answers --version anywhere on the line", () => {
    expect(parseInvocation(["--version"])).toEqual({ command: "version" });
    expect(parseInvocation(["list", "--version"])).toEqual({ command: "version" });
  });

  it("names the command in a usage error so help can point at it", () => {
    const error = (() => {
      try {
        parseInvocation(["run", "x", "--repo", "a/b", "--option", "broken"]);
      } catch (error) {
        return error;
      }
    })();

    expect(error).toMatchObject({ name: "UsageError", command: "run" });
  });
});
