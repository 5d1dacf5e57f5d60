/**
 * Lambda event filtering for stream event source mappings: the subset of EventBridge
 * patterns Lambda documents (exact values, prefix, suffix, exists, anything-but, numeric,
 * equals-ignore-case), matched against the record as the handler would receive it.
 */

const OPERATORS = new Set(["prefix", "suffix", "exists", "anything-but", "numeric", "equals-ignore-case"]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A pattern with an operator we do not emulate would silently match nothing: refuse it up front. */
export function validatePattern(pattern: Record<string, unknown>) {
  for (const [key, rule] of Object.entries(pattern)) {
    if (Array.isArray(rule)) {
      for (const item of rule) {
        if (!isObject(item)) continue;
        const [operator, ...more] = Object.keys(item);
        if (!operator || more.length > 0 || !OPERATORS.has(operator)) {
          throw new Error(`Unsupported filter rule at ${key}: ${JSON.stringify(item)}`);
        }
      }
    } else if (isObject(rule)) {
      validatePattern(rule);
    } else {
      throw new Error(`Filter pattern values must be arrays or objects (at ${key})`);
    }
  }
}

/** True if the record matches the pattern: every key's rule holds (nested objects recurse). */
export function matches(pattern: Record<string, unknown>, value: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const present = isObject(value) && key in value && value[key] !== undefined;
    const field = present ? (value as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(rule)) return rule.some((r) => matchesRule(r, field, present));
    // A missing branch still has to satisfy its leaves (only `exists: false` can).
    return isObject(rule) && matches(rule, isObject(field) ? field : undefined);
  });
}

function matchesRule(rule: unknown, field: unknown, present: boolean): boolean {
  if (isObject(rule) && "exists" in rule) return rule.exists === (present && !isObject(field));
  if (!present) return false;
  // An array field matches if any of its elements does.
  const values = Array.isArray(field) ? field : [field];
  return values.some((v) => {
    if (!isObject(rule)) return v === rule;
    if ("prefix" in rule) return typeof v === "string" && v.startsWith(String(rule.prefix));
    if ("suffix" in rule) return typeof v === "string" && v.endsWith(String(rule.suffix));
    if ("equals-ignore-case" in rule)
      return typeof v === "string" && v.toLowerCase() === String(rule["equals-ignore-case"]).toLowerCase();
    if ("anything-but" in rule) {
      const but = rule["anything-but"];
      if (isObject(but) && "prefix" in but) return typeof v === "string" && !v.startsWith(String(but.prefix));
      return !(Array.isArray(but) ? but : [but]).includes(v);
    }
    if ("numeric" in rule) return typeof v === "number" && numeric(rule.numeric, v);
    return false;
  });
}

function numeric(conditions: unknown, value: number) {
  if (!Array.isArray(conditions)) return false;
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const bound = Number(conditions[i + 1]);
    const ok = {
      "=": value === bound,
      "<": value < bound,
      "<=": value <= bound,
      ">": value > bound,
      ">=": value >= bound,
    }[String(conditions[i])];
    if (!ok) return false;
  }
  return true;
}
