/**
 * Errors a client can act on, and the one vocabulary every edge (HTTP, WebSocket frames,
 * `$connect`) answers them in. Anything else thrown from core is a bug and is answered
 * as INTERNAL without its message. Side-effect free: the browser client imports it.
 */
export type ErrorKind = "input" | "auth" | "forbidden" | "not_found" | "conflict" | "quota" | "rate_limit";

/** The wire error codes (DESIGN §7), plus PAYLOAD_TOO_LARGE for a body over the size limit. */
export const ERROR_CODES = [
  "VALIDATION_ERROR",
  "NOT_FOUND",
  "CONFLICT",
  "QUOTA_EXCEEDED",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "RATE_LIMITED",
  "PAYLOAD_TOO_LARGE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Each kind's wire code and HTTP status. */
export const WIRE = {
  input: { status: 400, code: "VALIDATION_ERROR" },
  auth: { status: 401, code: "UNAUTHORIZED" },
  forbidden: { status: 403, code: "FORBIDDEN" },
  not_found: { status: 404, code: "NOT_FOUND" },
  conflict: { status: 409, code: "CONFLICT" },
  quota: { status: 429, code: "QUOTA_EXCEEDED" },
  rate_limit: { status: 429, code: "RATE_LIMITED" },
} as const satisfies Record<ErrorKind, { status: number; code: ErrorCode }>;

export class VisibleError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Dotted, stable reason, e.g. `task.not_found`. */
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "VisibleError";
  }
}

/** A conditional write lost its race: the caller may re-read and decide again. */
export class ConflictError extends VisibleError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super("conflict", code, message, details);
    this.name = "ConflictError";
  }
}

export const notFound = (what: string, id: string) =>
  new VisibleError("not_found", `${what}.not_found`, `${what} ${id} not found`);

/** A validation issue as valibot (directly or through Standard Schema) reports it. */
export interface Issue {
  readonly message: string;
  readonly path?: readonly unknown[] | undefined;
}

/** One problem with an input, in words; `path` names the field (`options.turns`). */
export interface InputIssue {
  path?: string;
  message: string;
}

/**
 * Bad input as a VisibleError whose message names the field and says what it should be.
 * Given the schema, unknown keys list the allowed ones and a field's rule is read from it
 * (`maxTurns: must be a whole number from 1 to 500`), so the words never drift from the limits.
 *
 * @example throw invalidInput(result.issues, Task.SubmitInput, "body")
 */
export function invalidInput(issues: readonly Issue[], schema?: unknown, subject = "input") {
  const described = issues.map((issue) => describeIssue(issue, schema));
  const first = described[0];
  const message = first ? `${first.path ?? subject}: ${first.message}` : `${subject}: not valid`;
  return new VisibleError("input", "request.invalid", message, { issues: described });
}

/** The words for one issue. Messages a schema's author wrote are kept as they are. */
export function describeIssue(issue: Issue, schema?: unknown): InputIssue {
  const raw = issue as Issue & RawIssue;
  const items = (issue.path ?? []).map(pathItem);
  const path = items.map((item) => item.key).join(".") || undefined;
  return { ...(path ? { path } : {}), message: inWords(raw, items, schema) };
}

// --- reading valibot's issues and schemas -------------------------------------------------

interface RawIssue {
  kind?: string;
  type?: string;
  expected?: string | null;
  requirement?: unknown;
  input?: unknown;
}

interface PathItem {
  key: string;
  origin?: string;
  input?: unknown;
}

/** The parts of a valibot schema or action this reads (all public properties). */
interface Node {
  type?: string;
  kind?: string;
  message?: unknown;
  requirement?: unknown;
  wrapped?: Node;
  entries?: Record<string, Node>;
  pipe?: Node[];
  options?: unknown[];
  key?: unknown;
  value?: Node;
  item?: Node;
  literal?: unknown;
}

const pathItem = (p: unknown): PathItem => {
  if (typeof p === "object" && p !== null && "key" in p) {
    const item = p as { key: unknown; origin?: string; input?: unknown };
    return { key: String(item.key), origin: item.origin, input: item.input };
  }
  return { key: String(p) };
};

// valibot's own messages read `Invalid type: Expected number but received "abc"`.
const isLibraryMessage = (message: string) => /^Invalid [\w ]+: (Expected .* but r|R)eceived /.test(message);

function inWords(issue: RawIssue & Issue, items: PathItem[], schema: unknown): string {
  if (!isLibraryMessage(issue.message)) return issue.message;
  const last = items.at(-1);
  const root = asNode(schema);
  if (last?.origin === "key" && (issue.type === "strict_object" || issue.type === "object")) {
    if (issue.expected === "never") {
      const parent = root && at(root, items.slice(0, -1));
      const allowed = parent && entriesOf(parent, last.input);
      return allowed
        ? `not a known field (allowed: ${Object.keys(allowed).join(", ")})`
        : "not a known field";
    }
    const field = root && at(root, items);
    const rule = field && describe(field);
    return rule ? `is required; must be ${rule}` : "is required";
  }
  const field = root && at(root, items);
  const rule = field && describe(field);
  return rule ? `must be ${rule}` : fromIssue(issue);
}

const asNode = (schema: unknown): Node | undefined =>
  typeof schema === "object" && schema !== null ? (schema as Node) : undefined;

const WRAPPERS = new Set([
  "optional",
  "exact_optional",
  "nullable",
  "nullish",
  "non_optional",
  "non_nullable",
]);
const unwrap = (node: Node): Node =>
  WRAPPERS.has(node.type ?? "") && node.wrapped ? unwrap(node.wrapped) : node;

/** An object schema's fields; a variant's are those of the option `input` chose. */
function entriesOf(node: Node, input: unknown): Record<string, Node> | undefined {
  const n = unwrap(node);
  if (n.type !== "variant" || typeof n.key !== "string") return n.entries;
  const key = n.key;
  const chosen = (input as Record<string, unknown> | undefined)?.[key];
  return ((n.options ?? []) as Node[]).find((o) => o.entries?.[key]?.literal === chosen)?.entries;
}

/** The schema of the field a path names, or undefined where it cannot be told (a union). */
function at(root: Node, items: PathItem[]): Node | undefined {
  let node: Node | undefined = root;
  for (const item of items) {
    if (!node) return undefined;
    const n = unwrap(node);
    if (n.type === "variant" && typeof n.key === "string") {
      const options = (n.options ?? []) as Node[];
      if (item.key === n.key) {
        const literals = options.map((o) => o.entries?.[n.key as string]?.literal);
        node = { type: "picklist", options: literals };
        continue;
      }
      node = entriesOf(n, item.input)?.[item.key];
    } else if (n.entries) node = n.entries[item.key];
    else if (n.type === "record") node = item.origin === "key" ? (n.key as Node) : n.value;
    else if (n.type === "array") node = n.item;
    else return undefined;
  }
  return node;
}

const quoted = (values: unknown[]) => values.map((value) => JSON.stringify(value)).join(", ");

/** A field's rule in words (`a whole number from 1 to 500`), or undefined. */
function describe(field: Node): string | undefined {
  const node = unwrap(field);
  const checks = (node.pipe ?? []).slice(1);
  let base = baseOf(node);
  if (!base) return undefined;
  let whole = false;
  let min: unknown;
  let max: unknown;
  let minLength: unknown;
  let maxLength: unknown;
  for (const check of checks) {
    if (check.type === "to_number") base = "number";
    else if (check.type === "integer") whole = true;
    else if (check.type === "min_value") min = check.requirement;
    else if (check.type === "max_value") max = check.requirement;
    else if (check.type === "min_length") minLength = check.requirement;
    else if (check.type === "max_length") maxLength = check.requirement;
  }
  if (base === "number") {
    const kind = whole ? "a whole number" : "a number";
    if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
    if (min !== undefined) return `${kind}, ${min} or more`;
    if (max !== undefined) return `${kind}, ${max} or less`;
    return kind;
  }
  if (base === "text") {
    if (minLength !== undefined && maxLength !== undefined)
      return `text of ${minLength} to ${maxLength} characters`;
    if (minLength !== undefined) return `text of at least ${minLength} characters`;
    if (maxLength !== undefined) return `text of at most ${maxLength} characters`;
    return "text";
  }
  return base;
}

function baseOf(node: Node): string | undefined {
  switch (node.type) {
    case "string":
      return "text";
    case "number":
      return "number";
    case "boolean":
      return "true or false";
    case "picklist":
      return `one of ${quoted(node.options ?? [])}`;
    case "literal":
      return JSON.stringify(node.literal);
    case "object":
    case "strict_object":
    case "loose_object":
    case "record":
    case "variant":
      return "an object";
    case "array":
      return "a list";
    case "union": {
      // Text that becomes a number (a query string's `limit`) is a number to the caller.
      const options = (node.options ?? []) as Node[];
      const numeric = (o: Node) =>
        unwrap(o).type === "number" || (o.pipe ?? []).some((check) => check.type === "to_number");
      if (options.length > 0 && options.every(numeric)) return "number";
      const words = options.map((o) => describe(o));
      return words.every((w) => w !== undefined) ? words.join(" or ") : undefined;
    }
    default:
      return undefined;
  }
}

/** Without a schema: the words one issue allows. */
function fromIssue(issue: RawIssue): string {
  const requirement = String(issue.requirement);
  switch (issue.type) {
    case "integer":
      return "must be a whole number";
    case "min_value":
      return `must be ${requirement} or more`;
    case "max_value":
      return `must be ${requirement} or less`;
    case "min_length":
      return `must be at least ${requirement} long`;
    case "max_length":
      return `must be at most ${requirement} long`;
    case "regex":
      return "is not in the expected form";
  }
  if (issue.kind !== "schema") return "is not valid";
  const expected = issue.expected ?? "";
  const names: Record<string, string> = {
    string: "text",
    number: "a number",
    boolean: "true or false",
    Object: "an object",
    Array: "a list",
  };
  return `must be ${names[expected] ?? expected.replaceAll(" | ", " or ").replace(/^\((.*)\)$/, "$1")}`;
}
