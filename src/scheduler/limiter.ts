import { RunQueue } from './run-queue.js';

/**
 * The global concurrency cap: slots in use, and what waits for one, first come first served.
 * A waiter that left (its job was removed) is told apart by `stillWaiting` and passed over.
 */
export class Limiter<T> {
  inUse = 0;
  waiting = 0;
  private readonly queue = new RunQueue<T>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly max: number,
    private readonly stillWaiting: (item: T) => boolean,
  ) {}

  get hasFreeSlot(): boolean {
    return this.inUse < this.max;
  }

  take(): void {
    this.inUse++;
  }

  give(): void {
    this.inUse--;
    if (this.inUse > 0 || this.idleWaiters.length === 0) return;
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of idle) resolve();
  }

  enqueue(item: T): void {
    this.queue.push(item);
    this.waiting++;
  }

  /** Counts a waiter that left the queue without being taken out of it. */
  leave(): void {
    this.waiting--;
  }

  /** The next waiter to start, when a slot is free. */
  next(): T | undefined {
    while (this.waiting > 0 && this.hasFreeSlot) {
      const item = this.queue.shift();
      if (item === undefined) break;
      if (!this.stillWaiting(item)) continue;
      this.waiting--;
      return item;
    }
    if (this.waiting === 0 && this.queue.size > 0) this.queue.clear();
    return undefined;
  }

  clear(): void {
    this.queue.clear();
    this.waiting = 0;
  }

  /** Resolves when no slot is in use. */
  whenIdle(): Promise<void> {
    if (this.inUse === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
