import type { ApprovalMode, RuleId } from "@conveyor/core/approval";

/** A tool use a person should approve first: the rule it falls under and exactly what would run. */
export interface Gate {
  action: RuleId;
  detail: string;
}

/** Directories a recursive `rm` may clear without asking: generated output, never sources. */
export const BUILD_DIRS = ["node_modules", "dist", "build", "target", ".next", "coverage", "tmp"] as const;

/** Programs that reach the network by themselves. */
const NETWORK_PROGRAMS = new Set([
  "curl",
  "wget",
  "ssh",
  "scp",
  "sftp",
  "ftp",
  "nc",
  "ncat",
  "netcat",
  "telnet",
  "rsync",
  "http",
  "https",
]);
/** git subcommands that fetch from a remote (pushing is how work is delivered, and is not one). */
const GIT_FETCHING = new Set(["clone", "fetch", "pull", "ls-remote"]);
/** Programs that write the files named in their arguments. */
const WRITERS = new Set(["tee", "cp", "mv", "rm", "touch", "ln", "install", "truncate", "chmod"]);
/** Tools that only shape the conversation or the plan: never gated, not even in mode "all". */
const CONVERSATION_TOOLS = new Set(["TodoWrite", "Task", "Agent", "ExitPlanMode", "ToolSearch"]);
const FILE_WRITERS: Record<string, string> = {
  Write: "file_path",
  Edit: "file_path",
  MultiEdit: "file_path",
  NotebookEdit: "notebook_path",
};

const CI_PATH =
  /(^|\/)\.github\/workflows(\/|$)|(^|\/)\.gitlab-ci\.ya?ml$|(^|\/)\.circleci(\/|$)|(^|\/)buildspec[^/]*\.ya?ml$|(^|\/)Jenkinsfile$/;
/** Whether a path is CI configuration (`.github/workflows/`, `.gitlab-ci.yml`, `.circleci/`, `buildspec*.yml`, `Jenkinsfile`). */
export const isCiPath = (path: string) => CI_PATH.test(path.replace(/^["']|["']$/g, ""));

/**
 * Whether a tool use must be approved first, and under which rule (docs/architecture.md,
 * "Approval gates"): force pushes, deleting branches, `rm -r` outside build directories,
 * network tools, writes to CI configuration; in mode "all", every other tool use too (`tool`).
 * Undefined: it goes ahead. Whether a gate pauses is the task's `approvals` settings' call.
 *
 * @example gateFor("Bash", { command: "git push --force origin main" }, "ask") // { action: "force-push", ... }
 */
export function gateFor(name: string, input: Record<string, unknown>, mode: ApprovalMode): Gate | undefined {
  const risky = riskyUse(name, input);
  if (risky) return risky;
  if (mode === "all" && !CONVERSATION_TOOLS.has(name))
    return { action: "tool", detail: describe(name, input) };
  return undefined;
}

function riskyUse(name: string, input: Record<string, unknown>): Gate | undefined {
  if (name === "Bash" && typeof input.command === "string") {
    const action = commandRule(input.command);
    return action ? { action, detail: input.command.trim() } : undefined;
  }
  if (name === "WebFetch" || name === "WebSearch")
    return { action: "network", detail: describe(name, input) };
  const field = FILE_WRITERS[name];
  const path = field ? input[field] : undefined;
  if (typeof path === "string" && isCiPath(path)) return { action: "ci-config", detail: `${name} ${path}` };
  return undefined;
}

/** The first rule a shell command falls under, looking at each simple command in it. */
export function commandRule(command: string): RuleId | undefined {
  for (const words of simpleCommands(command)) {
    const rule = simpleRule(words);
    if (rule) return rule;
  }
  return undefined;
}

function simpleRule(all: string[]): RuleId | undefined {
  // Redirections into CI configuration (`echo x > .github/workflows/ci.yml`).
  for (let i = 0; i < all.length; i++) {
    const word = all[i]!;
    const target = /^\d*>>?(.*)$/.exec(word);
    if (target) {
      const path = target[1] || all[i + 1];
      if (path && isCiPath(path)) return "ci-config";
    }
  }
  const words = all.filter((w) => !/^\d*>>?/.test(w));
  // Leading variable assignments, `sudo`, `env`, `command` and `exec` do not change what runs.
  let start = 0;
  while (
    start < words.length &&
    (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start]!) || WRAPPERS.has(words[start]!))
  )
    start++;
  const [program = "", ...args] = words.slice(start);
  const base = program.split("/").at(-1) ?? program;
  if (base === "git") return gitRule(args);
  if (base === "rm") return rmRule(args);
  if (NETWORK_PROGRAMS.has(base)) return "network";
  if (WRITERS.has(base) && args.some((a) => !a.startsWith("-") && isCiPath(a))) return "ci-config";
  if ((base === "sed" || base === "perl") && args.some((a) => /^-[a-zA-Z]*i/.test(a))) {
    if (args.some((a) => !a.startsWith("-") && isCiPath(a))) return "ci-config";
  }
  return undefined;
}
const WRAPPERS = new Set(["sudo", "env", "command", "exec", "nohup", "time"]);

function gitRule(args: string[]): RuleId | undefined {
  // Options before the subcommand (`git -C dir push`) take a value or not; skip both kinds.
  let i = 0;
  while (i < args.length && args[i]!.startsWith("-")) i += ["-C", "-c"].includes(args[i]!) ? 2 : 1;
  const sub = args[i];
  const rest = args.slice(i + 1);
  const flags = rest.filter((a) => a.startsWith("-"));
  const shortHas = (letter: string) => flags.some((f) => /^-[a-zA-Z]+$/.test(f) && f.includes(letter));
  if (sub === "push") {
    if (
      flags.some((f) => f === "--force" || f.startsWith("--force-with-lease") || f === "--force-if-includes")
    )
      return "force-push";
    if (shortHas("f")) return "force-push";
    if (flags.some((f) => f === "--delete") || shortHas("d")) return "delete-branch";
    const refspecs = rest.filter((a) => !a.startsWith("-")).slice(1);
    if (refspecs.some((r) => r.startsWith("+"))) return "force-push";
    if (refspecs.some((r) => r.startsWith(":"))) return "delete-branch";
    return undefined;
  }
  if (sub === "branch") {
    if (flags.some((f) => f === "--delete") || shortHas("d") || shortHas("D")) return "delete-branch";
    return undefined;
  }
  if (sub && GIT_FETCHING.has(sub)) return "network";
  return undefined;
}

function rmRule(args: string[]): RuleId | undefined {
  const flags = args.filter((a) => a.startsWith("-") && a !== "--");
  const recursive = flags.some((f) => f === "--recursive" || (/^-[a-zA-Z]+$/.test(f) && /[rR]/.test(f)));
  const targets = args.filter((a) => !a.startsWith("-"));
  if (targets.some(isCiPath)) return "ci-config";
  if (!recursive) return undefined;
  return targets.length > 0 && targets.every(insideBuildDir) ? undefined : "rm-recursive";
}

/** A relative path, without `..` or variables, that lies in (or is) a build directory. */
function insideBuildDir(target: string): boolean {
  const path = target.replace(/^["']|["']$/g, "");
  if (path.startsWith("/") || path.startsWith("~") || /[$`]/.test(path)) return false;
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return false;
  return parts.some((p) => (BUILD_DIRS as readonly string[]).includes(p));
}

/**
 * The simple commands of a command line, as words: split at `;`, `&`, `|`, newlines and
 * subshell parentheses, outside quotes. Quotes are removed from words; good enough to read
 * the program and its flags, which is all the rules need.
 */
export function simpleCommands(command: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (";&|\n()`".includes(ch)) {
      endCommand();
    } else if (ch === " " || ch === "\t") {
      endWord();
    } else {
      word += ch;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** A tool use in one line: the tool and what it targets. */
function describe(name: string, input: Record<string, unknown>): string {
  const target =
    input.command ??
    input.url ??
    input.query ??
    input.file_path ??
    input.notebook_path ??
    input.path ??
    input.pattern;
  const text = typeof target === "string" ? target : JSON.stringify(input);
  return `${name} ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`.trim();
}
