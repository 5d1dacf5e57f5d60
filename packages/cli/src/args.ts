import { parseArgs } from "node:util";
import type { SubmitBody, TaskStatus } from "./client.ts";

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

const GLOBAL: readonly Flag[] = ["api-url", "token", "ws-url", "output", "help"];
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
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;

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

function commandInvocation(
  cmd: Command,
  values: Values,
  rest: string[],
): Exclude<Invocation, { command: "help" }> {
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
        limit: integer("limit", values.limit) ?? 50,
        all: values.all ?? false,
      };
    case "nudge": {
      const [id, ...words] = rest;
      const message = words.join(" ").trim();
      if (!id) throw new UsageError("nudge needs a task id");
      if (!message)
        throw new UsageError(`nudge needs a message: conveyor nudge ${id} "try the other approach"`);
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
        limit: integer("limit", values.limit) ?? 20,
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
  throw new UsageError(`Unknown command "${name}"`);
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
