export interface ReconcileCronOptions {
  /** The reconciler's handler (`cron/reconcile`), run on each tick. */
  run: () => Promise<unknown>;
  everyMs: number;
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The reconciler's schedule (every minute in AWS, every few seconds locally). The handler logs
 * its own summary (a debug line when a run changed nothing, so an idle stack stays quiet); a
 * handler that throws is reported here, as Lambda would.
 */
export function startReconcileCron(opts: ReconcileCronOptions) {
  let runs = 0;
  let running: Promise<unknown> | undefined;

  async function tick() {
    try {
      await opts.run();
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
    },
  };
}
