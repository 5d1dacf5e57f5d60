import { parseArgs } from "node:util";
import type { SubmitBody, TaskStatus } from "./client.ts";
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

const COMMANDS = ["run", "submit", "status", "events", "list", "watch", "nudge", "cancel"] as const;
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
  | { command: "list"; global: GlobalFlags; status?: TaskStatus; limit: number; cursor?: string }
  | { command: "nudge"; global: GlobalFlags; taskId: string; message: string }
  | { command: "cancel"; global: GlobalFlags; taskId: string };

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
} as const;

type Flag = keyof typeof OPTIONS;

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
];
const FOLLOW: readonly Flag[] = ["no-ws", "poll"];
const ALLOWED: Record<Command, readonly Flag[]> = {
  run: [...SUBMIT, ...FOLLOW],
  submit: SUBMIT,
  status: ["comment"],
  watch: FOLLOW,
  events: ["after", "limit", "all"],
  list: ["status", "limit", "cursor"],
  nudge: [],
  cancel: [],
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

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/**
 * parseArgs, with its mistakes said in our words: an unknown flag with the one it most
 * likely meant (among the command's own first), a flag missing its value, a switch given one.
 */
function parse(argv: string[]): { values: Values; positionals: string[] } {
  // A lenient pass finds the command and any unknown flag before the strict one would stop at it.
  const loose = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const cmd = COMMANDS.find((c) => c === loose.positionals[0]);
  for (const token of loose.tokens) {
    if (token.kind !== "option" || Object.hasOwn(OPTIONS, token.name)) continue;
    // Short flags are few (-h): only a long one is worth a guess.
    const typed = token.rawName.startsWith("--") ? token.name : "";
    const meant =
      closest(typed, cmd ? [...GLOBAL, ...ALLOWED[cmd]] : []) ?? closest(typed, Object.keys(OPTIONS));
    throw new UsageError(`Unknown flag ${token.rawName}${meant ? `. Did you mean --${meant}?` : ""}`, cmd);
  }
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // The remaining strict errors are about a flag's value; Node's codes and messages name the flag.
    const raw = (error as Error).message;
    const flag = /'(--?[\w-]+)/.exec(raw)?.[1]?.replace(/^-+/, "");
    const option = flag
      ? Object.entries(OPTIONS).find(([name, o]) => name === flag || ("short" in o && o.short === flag))
      : undefined;
    if (!option) throw new UsageError(raw.split(". ")[0] ?? raw, cmd);
    const [name, { type }] = option;
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
      return { command: cmd, global, taskId: id, message };
    }
    case "cancel":
      return { command: cmd, global, taskId: taskId(cmd, rest) };
    case "list":
      if (rest.length > 0) throw new UsageError(`list takes no arguments, got "${rest.join(" ")}"`);
      return {
        command: cmd,
        global,
        // Statuses are upper case on the wire; `--status running` is what people type.
        status: values.status?.toUpperCase() as TaskStatus | undefined,
        limit: integer("limit", values.limit) ?? DEFAULT_LIMIT.list,
        cursor: values.cursor,
      };
  }
}

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
  const meant = closest(name, COMMANDS);
  throw new UsageError(`Unknown command "${name}"${meant ? `. Did you mean "${meant}"?` : ""}`);
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
