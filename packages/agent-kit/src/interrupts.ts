/**
 * Interrupt-mode nudges pushed to a running task (the agent server rings it on a `{kind:
 * "nudge", mode: "interrupt"}` push). A brain listens while it works and, on a ring, cuts its
 * current step short to take its nudges now rather than at the end of the turn. A ring nobody
 * listens to is lost on purpose: the nudge is still pending and taken at the next boundary.
 *
 * @example
 * const off = ctx.interrupts.on(() => step.abort());
 * try { await work(step.signal); } finally { off(); }
 */
export class Interrupts {
  private readonly listeners = new Set<() => void>();

  ring() {
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` on every ring until the returned function is called. */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
