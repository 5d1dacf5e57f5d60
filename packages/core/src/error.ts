/**
 * Errors a client can act on. Anything else thrown from core is a bug and is
 * answered as INTERNAL without its message.
 */
export type ErrorKind = "input" | "auth" | "forbidden" | "not_found" | "conflict" | "quota" | "rate_limit";

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
