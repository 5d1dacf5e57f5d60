/**
 * A task's `options`: DESIGN's limits for any option, and each brain's own options, so a
 * submit is refused at once with the option named instead of failing when the agent runs.
 * Side-effect free: the agent imports it without the AWS SDK.
 */
import * as v from "valibot";

const wholeNumber = (min: number) => {
  const words = `must be a whole number, ${min} or more`;
  return v.pipe(v.number(words), v.integer(words), v.minValue(min, words));
};
const wholeNumberUpTo = (min: number, max: number) => {
  const words = `must be a whole number from ${min} to ${max}`;
  return v.pipe(v.number(words), v.integer(words), v.minValue(min, words), v.maxValue(max, words));
};
const flag = v.boolean("must be true or false");

/**
 * A git branch name as `git check-ref-format --branch` takes it: no spaces, control
 * characters, `~^:?*[\`, `..`, `@{` or `//`; no part starting with `.` or ending in `.lock`;
 * not starting with `-` or `/`, not ending with `/` or `.`, not `@`.
 */
export const isBranchName = (name: string) =>
  name.length > 0 &&
  name !== "@" &&
  ![...name].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f) &&
  !/[~^:?*[\\]|\.\.|@\{|\/\/|^[-/]|[/.]$/.test(name) &&
  name.split("/").every((part) => !part.startsWith(".") && !part.endsWith(".lock"));

export namespace AgentOptions {
  export const BRAINS = ["scripted", "claude"] as const;
  export type Brain = (typeof BRAINS)[number];
  /** The brain a task that names none is checked against (the stack-wide default is not configurable yet). */
  export const DEFAULT_BRAIN: Brain = "scripted";

  export const Brain = v.picklist(BRAINS, `must be one of ${BRAINS.map((b) => `"${b}"`).join(", ")}`);

  /** The scripted brain's options, with their defaults. */
  export const Scripted = v.object({
    turns: v.optional(wholeNumberUpTo(1, 500), 5),
    stepMs: v.optional(
      v.pipe(
        v.number("must be a number of milliseconds from 0 to 60000"),
        v.minValue(0, "must be a number of milliseconds from 0 to 60000"),
        v.maxValue(60_000, "must be a number of milliseconds from 0 to 60000"),
      ),
      200,
    ),
    failAtTurn: v.optional(wholeNumber(1)),
    /** The agent process dies at this turn (the reconciler fails the task `heartbeat_lost`). */
    crashAtTurn: v.optional(wholeNumber(1)),
    /** Play a misbehaving agent: keep going when cancelled (the reconciler must force it). */
    ignoreCancel: v.optional(flag, false),
    /** Play an agent that never reads its inbox (its nudges expire with the task). */
    ignoreNudges: v.optional(flag, false),
    /** Ask for approval (action `scripted`) at this turn, before its tool call. */
    approveAt: v.optional(wholeNumber(1)),
    /** How long that gate waits for a person, in seconds (default: the task's `approvals.timeoutS`). */
    approvalTimeoutS: v.optional(wholeNumberUpTo(30, 86_400)),
  });
  export type Scripted = v.InferOutput<typeof Scripted>;

  /** The claude brain's options. */
  export const Claude = v.object({
    model: v.optional(
      v.pipe(
        v.string("must be a model name of 1 to 128 characters"),
        v.minLength(1, "must be a model name of 1 to 128 characters"),
        v.maxLength(128, "must be a model name of 1 to 128 characters"),
      ),
    ),
    branch: v.optional(
      v.pipe(
        v.string("must be a git branch name of at most 200 characters"),
        v.maxLength(200, "must be a git branch name of at most 200 characters"),
        v.check(isBranchName, "must be a valid git branch name (no spaces, `..`, `~^:?*[\\`, `@{`)"),
      ),
    ),
  });
  export type Claude = v.InferOutput<typeof Claude>;

  /** What a submitted task may set for its brain: every key it takes, refusing the rest by name. */
  const submitted = (brain: Brain, entries: v.ObjectEntries) => {
    const all = { brain: v.optional(Brain), ...entries };
    const allowed = Object.keys(all).join(", ");
    return v.strictObject(all, (issue) =>
      issue.expected === "never"
        ? `not an option of the ${brain} brain (allowed: ${allowed})`
        : "must be an object of options",
    );
  };
  const byBrain: Record<Brain, v.GenericSchema> = {
    scripted: submitted("scripted", Scripted.entries),
    claude: submitted("claude", Claude.entries),
  };

  const Key = v.pipe(
    v.string(),
    v.minLength(1, "option names are 1 to 64 characters"),
    v.maxLength(64, "option names are 1 to 64 characters"),
  );
  const valueWords = "must be text of at most 256 characters, a number, or true or false";
  const Value = v.union(
    [v.pipe(v.string(valueWords), v.maxLength(256, valueWords)), v.number(valueWords), v.boolean(valueWords)],
    valueWords,
  );

  /**
   * `options` of a submitted task (DESIGN §12.5: ≤ 20 keys, key ≤ 64 chars, values string
   * ≤ 256 / number / boolean), then checked against its brain's schema. Its output is the
   * options as given: each brain applies its own defaults when it runs.
   */
  export const Input = v.pipe(
    v.record(Key, Value, "must be an object of options"),
    v.check((options) => Object.keys(options).length <= 20, "at most 20 options"),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const brain = v.safeParse(v.optional(Brain, DEFAULT_BRAIN), dataset.value.brain);
      if (!brain.success) {
        for (const issue of brain.issues)
          addIssue({ message: issue.message, path: [pathItem(dataset.value, "brain")] });
        return;
      }
      const checked = v.safeParse(byBrain[brain.output], dataset.value);
      if (checked.success) return;
      for (const issue of checked.issues) {
        addIssue({
          message: issue.message,
          ...(issue.path ? { path: issue.path as [v.IssuePathItem, ...v.IssuePathItem[]] } : {}),
        });
      }
    }),
  );

  const pathItem = (input: Record<string, unknown>, key: string): v.ObjectPathItem => ({
    type: "object",
    origin: "value",
    input,
    key,
    value: input[key],
  });
}
