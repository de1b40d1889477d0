/**
 * The work Slack requests start after their ack (probe, answer on response_url), held back while
 * a burst of requests is still being read, and aborted and awaited on stop.
 */
import type { Logger } from '../log.js';

/** A steady stream of commands must not hold back the work of the first ones longer than this. */
export const MAX_WORK_DELAY_MS = 250;

export type SlackWork = (signal: AbortSignal) => Promise<void>;

export class WorkInFlight {
  private readonly controller = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly waiting: SlackWork[] = [];
  private waitingSince = 0;
  private arrivedThisTurn = false;

  /** `now` is monotonic milliseconds; tests pass their own. */
  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Starts `run` once a turn of the event loop brings no new request. Node accepts one connection
   * per turn (libuv 1.45+), so in a burst of commands each turn reads and acks one more request;
   * work run in those turns made every later ack wait for it, one every 5-10 ms.
   */
  start(run: SlackWork): void {
    if (this.controller.signal.aborted) return;
    this.arrivedThisTurn = true;
    this.waiting.push(run);
    if (this.waiting.length > 1) return;
    this.waitingSince = this.now();
    setImmediate(() => this.startWhenQuiet());
  }

  async stop(): Promise<void> {
    this.controller.abort(new Error('the Slack app is stopping'));
    this.waiting.length = 0;
    await Promise.all(this.running);
  }

  private startWhenQuiet(): void {
    const burstGoesOn = this.arrivedThisTurn && this.now() - this.waitingSince < MAX_WORK_DELAY_MS;
    this.arrivedThisTurn = false;
    if (burstGoesOn) {
      setImmediate(() => this.startWhenQuiet());
      return;
    }
    for (const run of this.waiting.splice(0)) this.launch(run);
  }

  private launch(run: SlackWork): void {
    if (this.controller.signal.aborted) return;
    const task = run(this.controller.signal).catch((error: unknown) => {
      if (!this.controller.signal.aborted) this.logger.error({ error: (error as Error).message }, 'a Slack request failed');
    });
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }
}
