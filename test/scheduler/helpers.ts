import type { Clock } from '../../src/clock.js';
import { phaseOffset } from '../../src/scheduler/index.js';

/**
 * Resolves after ms on the given clock (a FakeClock only moves when the test advances it), or
 * as soon as the signal aborts, like a probe that honours its deadline.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clock.clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** Resolves when the signal aborts: a run that hangs until it is told to stop. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** The first tick of `name` after the clock's current time. */
export function firstTick(clock: Clock, name: string, intervalMs: number): number {
  const phase = phaseOffset(name, intervalMs);
  return (Math.floor((clock.now() - phase) / intervalMs) + 1) * intervalMs + phase;
}

/** `count` target names sharing one phase, so their ticks fall on the same millisecond. */
export function namesWithSamePhase(count: number, intervalMs: number): string[] {
  const wanted = phaseOffset('probe-0', intervalMs);
  const names: string[] = [];
  for (let i = 0; names.length < count && i < 10_000_000; i++) {
    if (phaseOffset(`probe-${i}`, intervalMs) === wanted) names.push(`probe-${i}`);
  }
  return names;
}

/** Counts concurrent calls and keeps the highest count seen. */
export class ConcurrencyMeter {
  active = 0;
  highest = 0;
  enter(): void {
    this.active++;
    this.highest = Math.max(this.highest, this.active);
  }
  leave(): void {
    this.active--;
  }
}
