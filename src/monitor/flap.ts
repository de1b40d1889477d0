import type { StatePolicy } from './types.js';

const OLDEST_WEIGHT = 0.75;
const NEWEST_WEIGHT = 1.25;

/**
 * Nagios percent state change over the last `window` raw results (oldest first), 0-100.
 *
 * A window of N results holds N-1 possible changes. Change i (1 = oldest, N-1 = newest) weighs
 * 0.75 + (i-1) × 0.5 / (N-2), rising linearly to 1.25, so the weights average 1 and a history
 * that changes every time scores exactly 100%. The sum of the weights of the changes that
 * happened is divided by N-1 (Nagios base/flapping.c).
 *
 * With fewer results than the window (a new target), the missing older results count as "no
 * change", as if they equalled the oldest one: Nagios fills its history with the current state
 * the same way. A new target thus needs as many real changes as an old one to look flapping,
 * instead of scoring 100% after its first two results.
 */
export function percentStateChange(history: readonly boolean[], window: number): number {
  const changes = window - 1;
  const recent = history.slice(-window);
  // Position of each recent result in a full window: the newest is always at window - 1.
  const offset = window - recent.length;
  let weighted = 0;
  for (let i = 1; i < recent.length; i++) {
    if (recent[i] === recent[i - 1]) continue;
    weighted += changeWeight(offset + i, changes);
  }
  // Rounded so that a history exactly at a threshold compares equal to it.
  return Math.round((weighted / changes) * 100 * 1e6) / 1e6;
}

/** Weight of the change at position `index` (1 = oldest) out of `changes` possible changes. */
function changeWeight(index: number, changes: number): number {
  if (changes <= 1) return 1;
  return OLDEST_WEIGHT + ((index - 1) * (NEWEST_WEIGHT - OLDEST_WEIGHT)) / (changes - 1);
}

/** Hysteresis: flapping starts at percent >= high, stops at percent <= low, else stays as it was. */
export function isFlapping(wasFlapping: boolean, percent: number, thresholds: Pick<StatePolicy['flap'], 'high' | 'low'>): boolean {
  if (percent >= thresholds.high) return true;
  if (percent <= thresholds.low) return false;
  return wasFlapping;
}
