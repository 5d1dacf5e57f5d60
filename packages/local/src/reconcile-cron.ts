import { AsyncLocalStorage } from "node:async_hooks";

type Counts = Record<string, number>;

export interface ReconcileCronOptions {
  /** The reconciler's handler (`cron/reconcile`), run on each tick. */
  run: () => Promise<{ fixed: Counts; failed: Counts }>;
  everyMs: number;
  log?: (entry: Record<string, unknown>) => void;
}

const quiet = new AsyncLocalStorage<true>();

/**
 * The reconciler's schedule (every minute in AWS, every few seconds locally). A run that found
 * nothing to do says nothing: the handler's own info lines (a summary on every run) are held
 * back while it runs, and one line is logged when it fixed something. Warnings and errors,
 * including the handler's summary of a run where a fix failed, pass through as they are.
 */
export function startReconcileCron(opts: ReconcileCronOptions) {
  let runs = 0;
  let running: Promise<unknown> | undefined;
  const restoreConsole = holdBackInfo();

  async function tick() {
    try {
      const report = await quiet.run(true, opts.run);
      const fixed = nonZero(report.fixed);
      if (Object.keys(fixed).length > 0 && Object.keys(nonZero(report.failed)).length === 0) {
        opts.log?.({ level: "info", msg: "reconcile", fixed });
      }
    } catch (error) {
      opts.log?.({ level: "error", msg: "reconcile threw", error: String(error) });
    } finally {
      runs++;
    }
  }

  const timer = setInterval(() => {
    // A run slower than the period (a busy machine) is not joined by another.
    running ??= tick().finally(() => {
      running = undefined;
    });
  }, opts.everyMs);
  return {
    /** Runs finished so far. */
    runs: () => runs,
    async stop() {
      clearInterval(timer);
      await running;
      restoreConsole();
    },
  };
}

function nonZero(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

/** Drops info-level JSON lines written to the console from inside a reconciler run. */
function holdBackInfo() {
  const { log, error } = console;
  const filter =
    (write: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (quiet.getStore() && isInfoLine(args[0])) return;
      write.apply(console, args);
    };
  console.log = filter(log);
  console.error = filter(error);
  return () => {
    console.log = log;
    console.error = error;
  };
}

function isInfoLine(line: unknown) {
  if (typeof line !== "string" || !line.startsWith("{")) return false;
  try {
    return (JSON.parse(line) as { level?: unknown }).level === "info";
  } catch {
    return false;
  }
}
