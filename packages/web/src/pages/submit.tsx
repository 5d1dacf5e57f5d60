import { ApiError, type SubmitBody } from "@conveyor/client/api";
import { APPROVAL_MODES, type ApprovalMode, RULE_IDS, type RuleId } from "@conveyor/core/approval/rules";
import { useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords, isUnauthorized } from "../errors.ts";
import { navigate } from "../router.ts";

const FIELDS = [
  "repo",
  "description",
  "prNumber",
  "issueNumber",
  "maxTurns",
  "maxBudgetUsd",
  "options",
  "approvals.mode",
  "approvals.allow",
  "approvals.timeoutS",
] as const;
type Field = (typeof FIELDS)[number];
type Values = Record<Exclude<Field, "approvals.mode" | "approvals.allow">, string>;

const MODE_WORDS: Record<ApprovalMode, string> = {
  ask: "Ask before risky actions",
  all: "Ask before every tool use",
  auto: "Never ask (recorded as approved by policy)",
};

/**
 * Submits a task. The API is the one judge of what is valid: its per-field messages are shown
 * beside the fields they name, word for word, so the page and the API can never disagree.
 */
export function Submit({ ctx }: { ctx: Ctx }) {
  const [values, setValues] = useState<Values>({
    repo: "",
    description: "",
    prNumber: "",
    issueNumber: "",
    maxTurns: "100",
    maxBudgetUsd: "10",
    options: "",
    "approvals.timeoutS": "300",
  });
  const [mode, setMode] = useState<ApprovalMode>("ask");
  const [allow, setAllow] = useState<RuleId[]>([]);
  const [issues, setIssues] = useState<Partial<Record<Field, string>>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const set = (field: keyof Values) => (event: Event) =>
    setValues((v) => ({ ...v, [field]: (event.target as HTMLInputElement).value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setIssues({});
    const options = parseOptions(values.options);
    if (typeof options === "string") {
      setIssues({ options });
      return;
    }
    const body: Record<string, unknown> = { repo: values.repo.trim(), description: values.description };
    for (const field of ["prNumber", "issueNumber", "maxTurns", "maxBudgetUsd"] as const) {
      const text = values[field].trim();
      // Text that is not a number goes as it is, for the API to say what it should be.
      if (text) body[field] = Number.isFinite(Number(text)) ? Number(text) : text;
    }
    if (Object.keys(options).length > 0) body.options = options;
    const timeout = values["approvals.timeoutS"].trim();
    body.approvals = {
      mode,
      ...(mode !== "auto" && allow.length > 0 ? { allow } : {}),
      ...(mode !== "auto" && timeout
        ? { timeoutS: Number.isFinite(Number(timeout)) ? Number(timeout) : timeout }
        : {}),
    };
    setBusy(true);
    try {
      const { task } = await ctx.api.submit(body as SubmitBody);
      navigate(`/tasks/${encodeURIComponent(task.taskId)}`);
    } catch (failure) {
      if (isUnauthorized(failure)) {
        ctx.signOut(inWords(failure));
        return;
      }
      if (failure instanceof ApiError && failure.code === "VALIDATION_ERROR") {
        const byField: Partial<Record<Field, string>> = {};
        const rest: string[] = [];
        for (const issue of failure.issues) {
          // `approvals.allow.0` belongs to the allow field; other nested paths to their top field.
          const parts = issue.path?.split(".") ?? [];
          const field = (parts[0] === "approvals" ? parts.slice(0, 2).join(".") : parts[0]) as
            | Field
            | undefined;
          if (field && FIELDS.includes(field) && !byField[field]) {
            byField[field] = field === issue.path ? issue.message : `${issue.path}: ${issue.message}`;
          } else rest.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
        }
        setIssues(byField);
        setError(rest.length > 0 ? rest.join("; ") : failure.message);
      } else setError(inWords(failure));
    } finally {
      setBusy(false);
    }
  };

  const field = (name: Field, label: string, input: preact.ComponentChildren, help?: string) => (
    <div class="field">
      <label for={`f-${name}`}>{label}</label>
      {input}
      {issues[name] ? (
        <p id={`e-${name}`} class="field-error" data-field={name}>
          {issues[name]}
        </p>
      ) : help ? (
        <p class="muted small">{help}</p>
      ) : null}
    </div>
  );
  const aria = (name: Field) => ({
    id: `f-${name}`,
    name,
    "aria-invalid": issues[name] ? true : undefined,
    "aria-describedby": issues[name] ? `e-${name}` : undefined,
  });

  return (
    <section class="page narrow">
      <h1>Submit a task</h1>
      {error ? (
        <p class="banner error" role="alert">
          {error}
        </p>
      ) : null}
      <form class="form" onSubmit={submit} noValidate>
        {field(
          "repo",
          "Repository",
          <input
            {...aria("repo")}
            value={values.repo}
            onInput={set("repo")}
            placeholder="owner/name"
            spellcheck={false}
          />,
        )}
        {field(
          "description",
          "What should the agent do?",
          <textarea
            {...aria("description")}
            rows={5}
            value={values.description}
            onInput={set("description")}
          />,
        )}
        <div class="grid2">
          {field(
            "prNumber",
            "Pull request (optional)",
            <input
              {...aria("prNumber")}
              inputMode="numeric"
              value={values.prNumber}
              onInput={set("prNumber")}
            />,
          )}
          {field(
            "issueNumber",
            "Issue (optional)",
            <input
              {...aria("issueNumber")}
              inputMode="numeric"
              value={values.issueNumber}
              onInput={set("issueNumber")}
            />,
          )}
          {field(
            "maxTurns",
            "Turn limit",
            <input
              {...aria("maxTurns")}
              inputMode="numeric"
              value={values.maxTurns}
              onInput={set("maxTurns")}
            />,
          )}
          {field(
            "maxBudgetUsd",
            "Budget (USD)",
            <input
              {...aria("maxBudgetUsd")}
              inputMode="decimal"
              value={values.maxBudgetUsd}
              onInput={set("maxBudgetUsd")}
            />,
          )}
        </div>
        {field(
          "options",
          "Agent options (optional)",
          <textarea
            {...aria("options")}
            rows={3}
            value={values.options}
            onInput={set("options")}
            placeholder="turns=5"
            spellcheck={false}
          />,
          "One key=value per line; numbers and true/false are read as such.",
        )}
        <fieldset class="approvals-settings">
          <legend>Approvals</legend>
          {field(
            "approvals.mode",
            "When the agent asks",
            <select
              {...aria("approvals.mode")}
              value={mode}
              onChange={(e) => setMode((e.target as HTMLSelectElement).value as ApprovalMode)}
            >
              {APPROVAL_MODES.map((m) => (
                <option key={m} value={m}>
                  {m}: {MODE_WORDS[m]}
                </option>
              ))}
            </select>,
          )}
          {mode === "auto" ? null : (
            <>
              <fieldset class="field plain">
                <legend class="label">Allowed without asking</legend>
                <div class="checks">
                  {RULE_IDS.map((rule) => (
                    <label key={rule} class="check">
                      <input
                        type="checkbox"
                        name="approvals.allow"
                        value={rule}
                        checked={allow.includes(rule)}
                        onChange={(e) => {
                          const on = (e.target as HTMLInputElement).checked;
                          setAllow((a) => (on ? [...a, rule] : a.filter((r) => r !== rule)));
                        }}
                      />
                      <code>{rule}</code>
                    </label>
                  ))}
                </div>
                {issues["approvals.allow"] ? (
                  <p class="field-error" data-field="approvals.allow">
                    {issues["approvals.allow"]}
                  </p>
                ) : null}
              </fieldset>
              {field(
                "approvals.timeoutS",
                "Denied after (seconds without an answer)",
                <input
                  {...aria("approvals.timeoutS")}
                  inputMode="numeric"
                  value={values["approvals.timeoutS"]}
                  onInput={set("approvals.timeoutS")}
                />,
              )}
            </>
          )}
        </fieldset>
        <button type="submit" disabled={busy}>
          {busy ? "Submitting…" : "Submit task"}
        </button>
      </form>
    </section>
  );
}

/** `key=value` lines, values coerced as the CLI's `--option` does; a malformed line is named. */
function parseOptions(text: string): Record<string, string | number | boolean> | string {
  const options: Record<string, string | number | boolean> = {};
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const eq = line.indexOf("=");
    if (eq <= 0) return `line ${i + 1}: write key=value`;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    options[key] =
      value === "true"
        ? true
        : value === "false"
          ? false
          : value !== "" && Number.isFinite(Number(value))
            ? Number(value)
            : value;
  }
  return options;
}
