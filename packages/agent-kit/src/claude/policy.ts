import { realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";

export type ToolDecision =
  | { behavior: "allow"; updatedInput: Record<string, unknown> }
  | { behavior: "deny"; message: string };

/** Tools that read or write files, and the input fields naming the paths they touch. */
const FILE_TOOLS: Record<string, readonly string[]> = {
  Read: ["file_path"],
  Write: ["file_path"],
  Edit: ["file_path"],
  MultiEdit: ["file_path"],
  NotebookEdit: ["notebook_path"],
  NotebookRead: ["notebook_path"],
  Glob: ["path"],
  Grep: ["path"],
  LS: ["path"],
};
/** Tools that reach the network: allowed here, and gated (rule `network`) by gates.ts. */
const WEB_TOOLS = new Set(["WebFetch", "WebSearch"]);
/** Tools that only shape the conversation or the plan. */
const HARMLESS = new Set(["TodoWrite", "Task", "Agent", "ExitPlanMode", "ToolSearch"]);

/**
 * What the agent may do, decided before every tool call (the SDK's `canUseTool`):
 * file tools only inside the workspace (`..` and symlinks resolved), Bash (its cwd is
 * the workspace), web tools, the conversation's own tools; anything unknown is denied
 * with a message the model reads, and the run goes on. What it allows may still need a
 * person's approval first (gates.ts).
 *
 * @example toolPolicy("/scratch/task/repo", "Write", { file_path: "/etc/passwd", content: "" }) // deny
 */
export function toolPolicy(workspace: string, name: string, input: Record<string, unknown>): ToolDecision {
  const allow = { behavior: "allow" as const, updatedInput: input };
  if (name === "Bash" || name === "BashOutput" || name === "KillShell" || HARMLESS.has(name)) return allow;
  if (WEB_TOOLS.has(name)) return allow;
  const fields = FILE_TOOLS[name];
  if (!fields) return { behavior: "deny", message: `${name} is not allowed for this task.` };
  for (const field of fields) {
    const value = input[field];
    // Search tools default to the cwd, which is the workspace.
    if (value === undefined || value === "") continue;
    if (typeof value !== "string") return { behavior: "deny", message: `${field} must be a path.` };
    if (!inside(workspace, value)) {
      return {
        behavior: "deny",
        message: `${value} is outside the workspace ${workspace}; only files in the repository may be used.`,
      };
    }
  }
  return allow;
}

/** Whether `path` (relative to the workspace, or absolute) lands inside it once `..` and symlinks are resolved. */
export function inside(workspace: string, path: string): boolean {
  const root = real(workspace);
  const target = real(isAbsolute(path) ? path : resolve(workspace, path));
  const rel = relative(root, target);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** The real path of the longest existing prefix, plus the part not yet created (a file Write makes). */
function real(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return resolve(real(parent), relative(parent, absolute));
  }
}
