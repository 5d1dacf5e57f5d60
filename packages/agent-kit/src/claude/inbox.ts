/**
 * The streaming input of a query: messages pushed while the agent runs are read by the
 * SDK in order; `end()` closes the input, so the CLI finishes once its turn is done.
 */
export class Inbox<T> implements AsyncIterable<T> {
  private readonly queued: T[] = [];
  private waiter?: (result: IteratorResult<T>) => void;
  private ended = false;

  /** False once ended: the message was not sent. */
  push(item: T): boolean {
    if (this.ended) return false;
    if (this.waiter) {
      const wake = this.waiter;
      this.waiter = undefined;
      wake({ value: item, done: false });
    } else this.queued.push(item);
    return true;
  }

  end() {
    this.ended = true;
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
  }

  get closed() {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.queued.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
