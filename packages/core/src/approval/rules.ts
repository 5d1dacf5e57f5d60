/**
 * What a task lets its agent do without asking (the submit body's `approvals`), and the ids of
 * the risky actions a brain asks about. Side-effect free: the agent's tool policy, the CLI and
 * the dashboard import it without the store.
 */
import * as v from "valibot";

/** The claude brain's risky actions (docs/architecture.md, "Approval gates"); `tool` is any other use in mode "all". */
export const RULE_IDS = [
  "force-push",
  "delete-branch",
  "rm-recursive",
  "network",
  "ci-config",
  "tool",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const APPROVAL_MODES = ["ask", "auto", "all"] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

export const DEFAULT_TIMEOUT_S = 300;
export const MIN_TIMEOUT_S = 30;
export const MAX_TIMEOUT_S = 86_400;

const timeoutWords = `must be a whole number of seconds from ${MIN_TIMEOUT_S} to ${MAX_TIMEOUT_S}`;
/** How long a gate waits for a person before it is denied (`by: "timeout"`). */
export const TimeoutS = v.pipe(
  v.number(timeoutWords),
  v.integer(timeoutWords),
  v.minValue(MIN_TIMEOUT_S, timeoutWords),
  v.maxValue(MAX_TIMEOUT_S, timeoutWords),
);

const ruleWords = `must be a rule id (one of ${RULE_IDS.join(", ")})`;

/** The submit body's `approvals`; its output is what is stored and presented. */
export const ApprovalSettings = v.strictObject(
  {
    mode: v.optional(v.picklist(APPROVAL_MODES, `must be one of ${APPROVAL_MODES.join(", ")}`), "ask"),
    allow: v.optional(v.array(v.picklist(RULE_IDS, ruleWords), "must be a list of rule ids")),
    timeoutS: v.optional(TimeoutS, DEFAULT_TIMEOUT_S),
  },
  (issue) =>
    issue.expected === "never"
      ? "not a known field (allowed: mode, allow, timeoutS)"
      : "must be an object { mode, allow?, timeoutS? }",
);
export type ApprovalSettings = v.InferOutput<typeof ApprovalSettings>;

export const DEFAULT_SETTINGS: ApprovalSettings = { mode: "ask", timeoutS: DEFAULT_TIMEOUT_S };

/** Whether a gate of `action` pauses for a person under `settings` (else it is approved by policy). */
export function asks(settings: ApprovalSettings | undefined, action: string): boolean {
  const s = settings ?? DEFAULT_SETTINGS;
  if (s.mode === "auto") return false;
  return !(s.allow ?? []).includes(action as RuleId);
}
