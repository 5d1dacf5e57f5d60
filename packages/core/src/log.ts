import { Logger } from "@aws-lambda-powertools/logger";

/**
 * Conveyor's one logger: a JSON line per entry (Powertools), service "conveyor", level from
 * POWERTOOLS_LOG_LEVEL or LOG_LEVEL (INFO by default). Say what a line is about in its
 * extra keys (`{ taskId }`), never with `appendKeys` on this shared instance: one process
 * works on many tasks at once. Secrets and tokens are never logged.
 *
 * @example
 * logger.warn("nudge push failed", { taskId, error: String(error) });
 */
export const logger = new Logger({ serviceName: "conveyor" });

export type Log = Logger;

/** A logger whose every line carries `taskId`: for a unit of work about one task. */
export const taskLogger = (taskId: string): Log => logger.createChild({ persistentKeys: { taskId } });
