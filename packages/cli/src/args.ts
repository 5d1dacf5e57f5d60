import { parseArgs } from "node:util";
import type { SubmitBody, TaskStatusWire } from "@conveyor/client/api";
import { APPROVAL_MODES, APPROVAL_RULES, APPROVAL_TIMEOUT_S, type ApprovalsSetting } from "./approval.ts";
import { CONVEYOR } from "./help.ts";
import { closest } from "./suggest.ts";

/** The command line is wrong; exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

const COMMANDS = [
  "run",
  "submit",
  "status",
  "events",
  "list",
  "watch",
  "nudge",
  "cancel",
  "approvals",
  "approve",
  "deny",
] as const;
export type Command = (typeof COMMANDS)[number];

export interface GlobalFlags {
  apiUrl?: string;
  token?: string;
  wsUrl?: string;
  output: "text" | "json";
}

export type Invocation =
  | { command: "help"; topic?: Command }
  | { command: "version" }
  | { command: "run"; global: GlobalFlags; body: SubmitBody; idempotencyKey?: string; poll: boolean }
  | { command: "submit"; global: GlobalFlags; body: SubmitBody; idempotencyKey?: string }
  | { command: "watch"; global: GlobalFlags; taskId: string; poll: boolean }
  | { command: "status"; global: GlobalFlags; taskId: string; comment?: boolean }
  | { command: "events"; global: GlobalFlags; taskId: string; after?: string; limit: number; all: boolean }
  | { command: "list"; global: GlobalFlags; status?: TaskStatusWire; limit: number; cursor?: string }
  | { command: "nudge"; global: GlobalFlags; taskId: string; message: string; interrupt?: boolean }
  | { command: "cancel"; global: GlobalFlags; taskId: string }
  | { command: "approvals"; global: GlobalFlags; pending: boolean; taskId?: string; cursor?: string }
  | {
      command: "approve" | "deny";
      global: GlobalFlags;
      taskId: string;
      approvalId?: string;
      comment?: string;
    };

const OPTIONS = {
  "api-url": { type: "string" },
  token: { type: "string" },
  "ws-url": { type: "string" },
  output: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  repo: { type: "string" },
  pr: { type: "string" },
  issue: { type: "string" },
  "max-turns": { type: "string" },
  budget: { type: "string" },
  option: { type: "string", multiple: true },
  brain: { type: "string" },
  "idempotency-key": { type: "string" },
  after: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  status: { type: "string" },
  cursor: { type: "string" },
  // Node 20's parseArgs has no negated flags, so --no-ws is a flag of its own.
  "no-ws": { type: "boolean" },
  poll: { type: "boolean" },
  comment: { type: "boolean" },
  pending: { type: "boolean" },
  interrupt: { type: "boolean" },
  task: { type: "string" },
  approvals: { type: "string" },
  allow: { type: "string", multiple: true },
  "approval-timeout": { type: "string" },
} as const;

// `status --comment` is a switch, `approve --comment "<text>"` takes text; parseArgs wants one type a name.
const WITH_TEXT_COMMENT = { ...OPTIONS, comment: { type: "string" } } as const;
const optionsFor = (cmd: Command | undefined) =>
  cmd === "approve" || cmd === "deny" ? WITH_TEXT_COMMENT : OPTIONS;

type Flag = keyof typeof OPTIONS;

/** The longest comment the API takes with a decision. */
const MAX_COMMENT = 2000;

/** Page sizes when --limit is not given. */
export const DEFAULT_LIMIT = { list: 20, events: 50 } as const;

const GLOBAL: readonly Flag[] = ["api-url", "token", "ws-url", "output", "help", "version"];
const SUBMIT: readonly Flag[] = [
  "repo",
  "pr",
  "issue",
  "max-turns",
  "budget",
  "option",
  "brain",
  "idempotency-key",
  "approvals",
  "allow",
  "approval-timeout",
];
const FOLLOW: readonly Flag[] = ["no-ws", "poll"];
const ALLOWED: Record<Command, readonly Flag[]> = {
  run: [...SUBMIT, ...FOLLOW],
  submit: SUBMIT,
  status: ["comment"],
  watch: FOLLOW,
  events: ["after", "limit", "all"],
  list: ["status", "limit", "cursor"],
  nudge: ["interrupt"],
  cancel: [],
  approvals: ["pending", "task", "cursor"],
  approve: ["comment"],
  deny: ["comment"],
};

/** Turns argv (without node and the script) into one checked invocation. */
export function parseInvocation(argv: string[]): Invocation {
  const { values, positionals } = parse(argv);
  const [name, ...rest] = positionals;

  if (values.version) return { command: "version" };
  if (name === "help") return { command: "help", topic: rest[0] ? command(rest[0]) : undefined };
  if (!name) {
    if (values.help) return { command: "help" };
    throw new UsageError("Missing command");
  }
  const cmd = command(name);
  if (values.help) return { command: "help", topic: cmd };

  try {
    return commandInvocation(cmd, values, rest);
  } catch (error) {
    // Point the help hint at the command being typed.
    if (error instanceof UsageError && !error.command) throw new UsageError(error.message, cmd);
    throw error;
  }
}

type Values = Omit<
  ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"],
  "comment"
> & { comment?: boolean | string };

/**
 * parseArgs, with its mistakes said in our words: an unknown flag with the one it most
 * likely meant (among the command's own first), a flag missing its value, a switch given one.
 */
function parse(argv: string[]): { values: Values; positionals: string[] } {
  // A lenient pass finds the command and any unknown flag before the strict one would stop at it.
  const lenient = (options: typeof OPTIONS | typeof WITH_TEXT_COMMENT) =>
    parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const first = lenient(OPTIONS);
  const cmd = COMMANDS.find((c) => c === first.positionals[0]);
  const options = optionsFor(cmd);
  // A comment's text may look like a flag to a pass that takes --comment for a switch.
  const loose = options === OPTIONS ? first : lenient(options);
  for (const token of loose.tokens) {
    if (token.kind !== "option" || Object.hasOwn(OPTIONS, token.name)) continue;
    // Short flags are few (-h): only a long one is worth a guess.
    const typed = token.rawName.startsWith("--") ? token.name : "";
    const meant =
      closest(typed, cmd ? [...GLOBAL, ...ALLOWED[cmd]] : []) ?? closest(typed, Object.keys(OPTIONS));
    throw new UsageError(`Unknown flag ${token.rawName}${meant ? `. Did you mean --${meant}?` : ""}`, cmd);
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as {
      values: Values;
      positionals: string[];
    };
  } catch (error) {
    // The remaining strict errors are about a flag's value; Node's codes and messages name the flag.
    const raw = (error as Error).message;
    const flag = /'(--?[\w-]+)/.exec(raw)?.[1]?.replace(/^-+/, "");
    const option = flag
      ? Object.entries(options).find(([name, o]) => name === flag || ("short" in o && o.short === flag))
      : undefined;
    if (!option) throw new UsageError(raw.split(". ")[0] ?? raw, cmd);
    const [name, { type }] = option;
    // Node will not take a value that looks like a flag unless it is joined with `=`; a known
    // flag after it means the value was left out.
    const next = argv[argv.indexOf(`--${name}`) + 1]?.replace(/^-+/, "").split("=")[0] ?? "";
    if (/ambiguous/.test(raw) && !Object.hasOwn(options, next) && next !== "h") {
      throw new UsageError(`--${name}'s value starts with "-": write --${name}="<value>"`, cmd);
    }
    throw new UsageError(type === "boolean" ? `--${name} takes no value` : `--${name} needs a value`, cmd);
  }
}

function commandInvocation(
  cmd: Command,
  values: Values,
  rest: string[],
): Exclude<Invocation, { command: "help" | "version" }> {
  for (const flag of Object.keys(values) as Flag[]) {
    if (!GLOBAL.includes(flag) && !ALLOWED[cmd].includes(flag)) {
      throw new UsageError(`--${flag} is not an option of ${cmd}`);
    }
  }
  const global = globalFlags(values);

  switch (cmd) {
    case "run":
    case "submit": {
      // Unquoted words are joined, so `run fix the flaky test --repo a/b` does what it says.
      const description = rest.join(" ").trim();
      if (!description) throw new UsageError(`${cmd} needs a description`);
      if (!values.repo) throw new UsageError(`${cmd} needs --repo owner/name`);
      const options = values.option?.length ? Object.fromEntries(values.option.map(parseOption)) : undefined;
      // `--brain claude` is `options.brain`: the agent that works the task.
      if (values.brain !== undefined && !["scripted", "claude"].includes(values.brain)) {
        throw new UsageError(`--brain is scripted or claude, got "${values.brain}"`);
      }
      const withBrain = values.brain ? { ...options, brain: values.brain } : options;
      const body: SubmitBody = {
        repo: values.repo,
        description,
        prNumber: integer("pr", values.pr),
        issueNumber: integer("issue", values.issue),
        maxTurns: integer("max-turns", values["max-turns"]),
        maxBudgetUsd: dollars(values.budget),
        options: withBrain,
        approvals: approvals(values),
      };
      const idempotencyKey = values["idempotency-key"];
      if (cmd === "submit") return { command: cmd, global, body, idempotencyKey };
      return { command: cmd, global, body, idempotencyKey, poll: poll(values) };
    }
    case "status":
      return {
        command: cmd,
        global,
        taskId: taskId(cmd, rest),
        ...(values.comment ? { comment: true } : {}),
      };
    case "watch":
      return { command: cmd, global, taskId: taskId(cmd, rest), poll: poll(values) };
    case "events":
      return {
        command: cmd,
        global,
        taskId: taskId(cmd, rest),
        after: values.after,
        limit: integer("limit", values.limit) ?? DEFAULT_LIMIT.events,
        all: values.all ?? false,
      };
    case "nudge": {
      const [id, ...words] = rest;
      const message = words.join(" ").trim();
      if (!id) throw new UsageError("nudge needs a task id");
      if (!message)
        throw new UsageError(`nudge needs a message: ${CONVEYOR} nudge ${id} "try the other approach"`);
      return { command: cmd, global, taskId: id, message, ...(values.interrupt ? { interrupt: true } : {}) };
    }
    case "cancel":
      return { command: cmd, global, taskId: taskId(cmd, rest) };
    case "approvals":
      if (rest.length > 0) {
        throw new UsageError(
          `approvals takes no arguments, got "${rest.join(" ")}"; for one task: ${CONVEYOR} approvals --task ${rest[0]}`,
        );
      }
      if (values.task === "") throw new UsageError("--task is empty; give it a task id or leave it out");
      // One task's approvals come in a single answer; only the list across tasks pages.
      if (values.task && values.cursor)
        throw new UsageError("--cursor pages approvals across tasks, not --task");
      return {
        command: cmd,
        global,
        pending: values.pending ?? false,
        ...(values.task ? { taskId: values.task } : {}),
        ...(values.cursor ? { cursor: values.cursor } : {}),
      };
    case "approve":
    case "deny":
      return decision(cmd, global, rest, values.comment);
    case "list":
      if (rest.length > 0) throw new UsageError(`list takes no arguments, got "${rest.join(" ")}"`);
      return {
        command: cmd,
        global,
        // Statuses are upper case on the wire; `--status running` is what people type.
        status: values.status?.toUpperCase() as TaskStatusWire | undefined,
        limit: integer("limit", values.limit) ?? DEFAULT_LIMIT.list,
        cursor: values.cursor,
      };
  }
}

/** `approve|deny <taskId> [approvalId] [--comment "<text>"]`. */
function decision(
  cmd: "approve" | "deny",
  global: GlobalFlags,
  rest: string[],
  comment: string | boolean | undefined,
): Extract<Invocation, { command: "approve" | "deny" }> {
  const [id, approvalId, ...more] = rest;
  if (!id) throw new UsageError(`${cmd} needs a task id: ${CONVEYOR} ${cmd} <taskId> [approvalId]`);
  if (more.length > 0) {
    throw new UsageError(
      `${cmd} takes a task id and an approval id, got "${rest.join(" ")}"; ` +
        `a note goes in --comment "<text>"`,
    );
  }
  if (typeof comment === "string") {
    if (!comment.trim()) throw new UsageError("--comment is empty; give it text or leave it out");
    if (comment.length > MAX_COMMENT)
      throw new UsageError(`--comment is at most ${MAX_COMMENT} characters, got ${comment.length}`);
  }
  return {
    command: cmd,
    global,
    taskId: id,
    ...(approvalId ? { approvalId } : {}),
    ...(typeof comment === "string" ? { comment } : {}),
  };
}

/**
 * `--approvals MODE`, `--allow RULE` (repeatable, or comma-separated) and
 * `--approval-timeout S` as the submit body's `approvals`; absent when none is given,
 * so the server's default (ask) applies.
 */
const isRule = (rule: string): rule is (typeof APPROVAL_RULES)[number] =>
  (APPROVAL_RULES as readonly string[]).includes(rule);

function approvals(values: Values): ApprovalsSetting | undefined {
  const mode = values.approvals;
  const named = (values.allow ?? []).flatMap((rule) => rule.split(",")).map((rule) => rule.trim());
  const timeout = values["approval-timeout"];
  if (mode === undefined && named.length === 0 && timeout === undefined) return undefined;
  if (mode !== undefined && !(APPROVAL_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--approvals is ask, auto or all, got "${mode}"${didYouMean(mode, APPROVAL_MODES)}`);
  }
  const allow = named.filter(isRule);
  for (const rule of named) {
    if (isRule(rule)) continue;
    throw new UsageError(
      `--allow takes a rule id (${APPROVAL_RULES.join(", ")}), got "${rule}"${didYouMean(rule, APPROVAL_RULES)}`,
    );
  }
  const timeoutS = integer("approval-timeout", timeout);
  const { min, max } = APPROVAL_TIMEOUT_S;
  if (timeoutS !== undefined && (timeoutS < min || timeoutS > max)) {
    throw new UsageError(`--approval-timeout is seconds from ${min} to ${max}, got ${timeoutS}`);
  }
  return {
    mode: (mode ?? "ask") as ApprovalsSetting["mode"],
    ...(allow.length ? { allow: [...new Set(allow)] } : {}),
    ...(timeoutS === undefined ? {} : { timeoutS }),
  };
}

const didYouMean = (typed: string, candidates: readonly string[]) => {
  const meant = closest(typed, candidates);
  return meant ? `. Did you mean "${meant}"?` : "";
};

/**
 * `--option k=v`: numbers and booleans become themselves, anything else stays a
 * string. Numbers with leading zeros or beyond exact integers stay strings, so
 * `--option ref=007` is not silently turned into 7.
 */
export function parseOption(raw: string): [string, string | number | boolean] {
  const eq = raw.indexOf("=");
  if (eq <= 0) throw new UsageError(`--option takes key=value, got "${raw}"`);
  return [raw.slice(0, eq), coerce(raw.slice(eq + 1))];
}

export function coerce(value: string): string | number | boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(value)) {
    const number = Number(value);
    if (value.includes(".") || Number.isSafeInteger(number)) return number;
  }
  return value;
}

function command(name: string): Command {
  if ((COMMANDS as readonly string[]).includes(name)) return name as Command;
  throw new UsageError(`Unknown command "${name}"${didYouMean(name, COMMANDS)}`);
}

function globalFlags(values: {
  "api-url"?: string;
  token?: string;
  "ws-url"?: string;
  output?: string;
}): GlobalFlags {
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json")
    throw new UsageError(`--output must be text or json, got "${output}"`);
  // An empty flag is a mistake (an unset shell variable, say), never a wish for the stored default.
  for (const flag of ["api-url", "token", "ws-url"] as const) {
    if (values[flag] === "") throw new UsageError(`--${flag} is empty; give it a value or leave it out`);
  }
  return { apiUrl: values["api-url"], token: values.token, wsUrl: values["ws-url"], output };
}

/** `--poll` and `--no-ws` both mean: follow over HTTP polling, not the WebSocket. */
const poll = (values: { "no-ws"?: boolean; poll?: boolean }) => Boolean(values["no-ws"] || values.poll);

function taskId(cmd: Command, rest: string[]): string {
  if (rest.length !== 1 || !rest[0]) throw new UsageError(`${cmd} takes one task id`);
  return rest[0];
}

function integer(flag: Flag, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

function dollars(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const amount = value.replace(/^\$/, "");
  if (!/^(\d+\.?\d*|\.\d+)$/.test(amount))
    throw new UsageError(`--budget must be an amount in USD, got "${value}"`);
  return Number(amount);
}
