import type { Logger } from '../log.js';

/** The work started by Slack requests, so stop() can abort it and wait for it. */
export class WorkInFlight {
  private readonly controller = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly logger: Logger) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Runs after the I/O already waiting, and one piece of work per event-loop turn: a command's
   * probe and answer would otherwise run before the next request of a burst was read, and 50
   * commands acked together had their 50 starts run back to back, so a request arriving just
   * after them waited for all 50.
   */
  start(run: (signal: AbortSignal) => Promise<void>): void {
    if (this.controller.signal.aborted) return;
    const task = new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length === 1) setImmediate(this.startNext);
    })
      .then(() => (this.controller.signal.aborted ? undefined : run(this.controller.signal)))
      .catch((error: unknown) => {
        if (!this.controller.signal.aborted) this.logger.error({ error: (error as Error).message }, 'a Slack request failed');
      });
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  async stop(): Promise<void> {
    this.controller.abort(new Error('the Slack app is stopping'));
    for (const resolve of this.waiting.splice(0)) resolve();
    await Promise.all(this.running);
  }

  /** Lets the oldest piece of work start, then the next one a turn later. */
  private readonly startNext = (): void => {
    this.waiting.shift()?.();
    // Queued behind the work's own first steps, so what it schedules for the next turn comes first.
    if (this.waiting.length > 0) queueMicrotask(() => setImmediate(this.startNext));
  };
}
