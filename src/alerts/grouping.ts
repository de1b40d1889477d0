/**
 * Storm grouping decisions, after Alertmanager's group_wait, with one change: the first event after
 * a quiet period goes out at once (a single outage must reach people fast); events arriving while
 * the window it opened is still open are collected and sent together when it closes. Pure.
 */
import type { AlertEvent } from './notifier.js';
import { isDown } from './summary.js';

/** A big storm is split into alerts of at most this many events (a receiver's body stays sane). */
export const MAX_EVENTS_PER_ALERT = 500;

export interface GroupWindow {
  /** When the window opened by the last alert closes (0: no window). */
  endsAt: number;
  /** Events waiting for the window to close. */
  collected: number;
}

/** Send now when the notifier has been quiet; otherwise collect until the window closes. */
export function shouldSendNow(window: GroupWindow, now: number): boolean {
  return window.collected === 0 && now >= window.endsAt;
}

/** Splits events, in order, into alert-sized chunks. */
export function splitIntoAlerts<T>(events: readonly T[], max = MAX_EVENTS_PER_ALERT): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < events.length; start += max) chunks.push(events.slice(start, start + max));
  return chunks;
}

/**
 * Copies of the events where each dependency's DOWN lists, in `dependents`, the dependents
 * folded into it (`suppressedBy`) that travel in the same alert.
 */
export function foldDependents(events: readonly AlertEvent[]): AlertEvent[] {
  const folded = new Map<string, string[]>();
  for (const event of events) {
    if (event.suppressedBy === undefined || !isDown(event)) continue;
    const names = folded.get(event.suppressedBy) ?? [];
    names.push(event.target);
    folded.set(event.suppressedBy, names);
  }
  return events.map((event) => {
    const names = isDown(event) && event.suppressedBy === undefined ? folded.get(event.target) : undefined;
    if (names === undefined) return event;
    return { ...event, dependents: [...new Set([...(event.dependents ?? []), ...names])] };
  });
}
