/**
 * Probes executed against probes scheduled, judged from outside the bot: every interval target
 * fires on the grid k * interval + phaseOffset(name, interval) (ms since the epoch; the phase is
 * a stable hash of the name, src/scheduler/phase.ts; TCP targets use 1 ms steps), so each
 * connection a listener accepted can be matched to the tick it belongs to, and its lag read off.
 */
import { phaseOffset } from '../../src/scheduler/phase.js';
import type { Arrivals } from './fleet.js';

export interface GridTarget {
  /** Index of its listener in the fleet. */
  index: number;
  name: string;
  intervalMs: number;
}

export interface GridReport {
  /** Ticks due in the window, over all the given targets. */
  scheduled: number;
  /** Of those, ticks a connection arrived for. */
  executed: number;
  /** Arrivals beyond the first for a tick (none expected). */
  duplicates: number;
  /** Arrival minus scheduled time, ms, one per executed tick. */
  lagsMs: Float64Array;
  /** Targets that missed at least one tick. */
  targetsMissingTicks: number;
  /** Up to 10 examples: "name: 2 of 6 ticks missed". */
  examples: string[];
}

/** An arrival up to this share of an interval early still belongs to the tick (clock jitter). */
const EARLY_SHARE = 0.1;

export function matchArrivals(targets: readonly GridTarget[], arrivals: Arrivals, window: { from: number; to: number }): GridReport {
  const byIndex = new Map<number, { target: GridTarget; phase: number; seen: Set<number> }>();
  for (const target of targets) byIndex.set(target.index, { target, phase: phaseOffset(target.name, target.intervalMs), seen: new Set() });
  const lags: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < arrivals.indexes.length; i++) {
    const entry = byIndex.get(arrivals.indexes[i]!);
    if (!entry) continue;
    const at = arrivals.times[i]!;
    const interval = entry.target.intervalMs;
    const tick = Math.floor((at - entry.phase + EARLY_SHARE * interval) / interval);
    const scheduledAt = tick * interval + entry.phase;
    if (scheduledAt < window.from || scheduledAt >= window.to) continue;
    if (entry.seen.has(tick)) {
      duplicates++;
      continue;
    }
    entry.seen.add(tick);
    lags.push(at - scheduledAt);
  }
  let scheduled = 0;
  let targetsMissingTicks = 0;
  const examples: string[] = [];
  for (const { target, phase, seen } of byIndex.values()) {
    const first = Math.ceil((window.from - phase) / target.intervalMs);
    const last = Math.ceil((window.to - phase) / target.intervalMs) - 1;
    const due = Math.max(0, last - first + 1);
    scheduled += due;
    if (seen.size < due) {
      targetsMissingTicks++;
      if (examples.length < 10) examples.push(`${target.name}: ${due - seen.size} of ${due} ticks missed`);
    }
  }
  return { scheduled, executed: lags.length, duplicates, lagsMs: Float64Array.from(lags), targetsMissingTicks, examples };
}
