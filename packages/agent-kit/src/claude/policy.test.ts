import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inside, toolPolicy } from "./policy.ts";

describe("toolPolicy", () => {
  const root = mkdtempSync(join(tmpdir(), "conveyor-policy-"));
  const ws = join(root, "repo");
  mkdirSync(join(ws, "src"), { recursive: true });
  writeFileSync(join(ws, "src", "app.ts"), "");
  const outside = join(root, "secret");
  mkdirSync(outside);
  symlinkSync(outside, join(ws, "escape"));

  it("allows file tools on paths inside the workspace, relative or absolute, existing or new", () => {
    for (const [name, input] of [
      ["Read", { file_path: join(ws, "src", "app.ts") }],
      ["Write", { file_path: join(ws, "src", "new", "file.ts"), content: "x" }],
      ["Edit", { file_path: "src/app.ts", old_string: "a", new_string: "b" }],
      ["Glob", { pattern: "**/*.ts" }],
      ["Grep", { pattern: "x", path: "src" }],
      ["NotebookEdit", { notebook_path: join(ws, "n.ipynb"), new_source: "" }],
    ] as const) {
      const decision = toolPolicy(ws, name, input);
      expect(decision, name).toEqual({ behavior: "allow", updatedInput: input });
    }
  });

  it("denies file tools outside the workspace, through `..` or through a symlink, with a message", () => {
    for (const [name, input] of [
      ["Write", { file_path: "/etc/cron.d/x", content: "" }],
      ["Read", { file_path: join(ws, "..", "secret", "key") }],
      ["Edit", { file_path: "../secret/key", old_string: "", new_string: "" }],
      ["Write", { file_path: join(ws, "escape", "planted"), content: "" }],
      ["Grep", { pattern: "x", path: "/" }],
      ["LS", { path: `${ws}-sibling` }],
    ] as const) {
      const decision = toolPolicy(ws, name, input);
      expect(decision.behavior, `${name} ${JSON.stringify(input)}`).toBe("deny");
      expect(decision).toMatchObject({ message: expect.stringContaining("outside the workspace") });
    }
  });

  it("allows Bash and the conversation's own tools", () => {
    expect(toolPolicy(ws, "Bash", { command: "pnpm test" }).behavior).toBe("allow");
    expect(toolPolicy(ws, "TodoWrite", { todos: [] }).behavior).toBe("allow");
  });

  it("leaves web tools to the approval gates, and denies unknown tools with a message the model can act on", () => {
    expect(toolPolicy(ws, "WebFetch", { url: "https://example.com" }).behavior).toBe("allow");
    expect(toolPolicy(ws, "WebSearch", { query: "x" }).behavior).toBe("allow");
    expect(toolPolicy(ws, "mcp__evil__run", {})).toEqual({
      behavior: "deny",
      message: expect.stringContaining("mcp__evil__run is not allowed"),
    });
  });

  it("refuses a path that is not a string", () => {
    expect(toolPolicy(ws, "Read", { file_path: ["/etc/passwd"] }).behavior).toBe("deny");
  });

  it("treats the workspace itself as inside, and a prefix-sharing sibling as outside", () => {
    expect(inside(ws, ws)).toBe(true);
    expect(inside(ws, ".")).toBe(true);
    expect(inside(ws, `${ws}2/file`)).toBe(false);
  });
});
