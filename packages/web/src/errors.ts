import { ApiError, NetworkError } from "@conveyor/client/api";

/** An API failure in words a person can act on; the API's own message is kept. */
export function inWords(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case "UNAUTHORIZED":
        return `Your token was not accepted: ${error.message}. Sign in again.`;
      case "NOT_FOUND":
        return `Not found: ${error.message}.`;
      case "CONFLICT":
        return `Not possible now: ${error.message}.`;
      case "QUOTA_EXCEEDED":
      case "RATE_LIMITED":
        return `Too much at once: ${error.message}.`;
      case "VALIDATION_ERROR":
        return error.message;
      default:
        return `${error.message} (${error.code}).`;
    }
  }
  if (error instanceof NetworkError) return `${error.message}. Is the API running?`;
  return error instanceof Error ? error.message : String(error);
}

export const isUnauthorized = (error: unknown) => error instanceof ApiError && error.status === 401;
