import { ULID_PATTERN } from "../util/ulid.ts";

/** What a `/conveyor` comment asks for. `usage`: it was meant as a command but cannot be read. */
export type Command =
  | { kind: "run"; text: string }
  | { kind: "nudge"; text: string }
  | { kind: "cancel" }
  | { kind: "approve" | "deny"; approvalId?: string; comment?: string }
  | { kind: "usage"; problem: string };

export const USAGE = [
  "`/conveyor <what to do>` starts a task on this thread",
  "`/conveyor nudge <text>` steers its newest running task",
  "`/conveyor cancel` cancels it",
  "`/conveyor approve [approvalId]` or `/conveyor deny [approvalId]` answers its pending approval (more lines: a comment)",
];

/**
 * The command on a comment's first line, or undefined when the comment is not one.
 * Keywords win over free text, so `/conveyor cancel now` is a usage error rather than a
 * task called "cancel now": a mistyped steering command never starts work.
 *
 * @example parseCommand("/conveyor nudge use pnpm") // { kind: "nudge", text: "use pnpm" }
 */
export function parseCommand(body: string): Command | undefined {
  const [first = "", ...more] = body.replace(/\r\n?/g, "\n").split("\n");
  const match = /^\s*\/conveyor(?=\s|$)(.*)$/i.exec(first);
  if (!match) return undefined;
  const line = match[1]!.trim();
  const rest = more.join("\n").trim();
  const [word = "", ...args] = line.split(/\s+/);
  const after = line.slice(word.length).trim();
  const keyword = word.toLowerCase();

  if (keyword === "nudge") {
    const text = [after, rest].filter(Boolean).join("\n");
    return text ? { kind: "nudge", text } : { kind: "usage", problem: "`nudge` needs the text to send" };
  }
  if (keyword === "cancel") {
    return args.length === 0
      ? { kind: "cancel" }
      : { kind: "usage", problem: "`cancel` takes nothing after it" };
  }
  if (keyword === "approve" || keyword === "deny") {
    if (args.length > 1 || (args[0] !== undefined && !ULID_PATTERN.test(args[0]))) {
      return { kind: "usage", problem: `\`${keyword}\` takes at most an approval id (26 characters)` };
    }
    return {
      kind: keyword,
      ...(args[0] ? { approvalId: args[0] } : {}),
      ...(rest ? { comment: rest } : {}),
    };
  }
  const text = [line, rest].filter(Boolean).join("\n");
  return text ? { kind: "run", text } : { kind: "usage", problem: "say what to do after `/conveyor`" };
}
