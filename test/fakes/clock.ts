import type { Clock, TimerHandle } from '../../src/clock.js';

interface PendingTimer {
  id: number;
  due: number;
  callback: () => void;
}

/** A clock that only moves when a test calls advance(); timers fire in due order. */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by ms, firing every timer that falls due on the way (including timers
   * those callbacks set), and lets promise callbacks run between firings.
   */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      await flushMicrotasks();
      const next = this.timers.filter((t) => t.due <= end).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.due);
      next.callback();
    }
    this.current = end;
    await flushMicrotasks();
  }
}

/** Lets queued promise callbacks (and a few chained ones) run. */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
