/**
 * One-line descriptions of events and alerts, shared by every notifier so a DOWN reads the same
 * in a log line, a Slack notification, a PagerDuty incident and a webhook body. Pure.
 */
import { formatDuration } from '../config/durations.js';
import type { Alert, AlertEvent } from './notifier.js';

/** The state an event leaves its target in, as shown to people. */
export type ShownState = 'DOWN' | 'UP' | 'FLAPPING';

export function shownState(event: AlertEvent): ShownState {
  if (event.kind === 'flapping') return 'FLAPPING';
  return event.to === 'DOWN' ? 'DOWN' : 'UP';
}

/** A DOWN that opens (or re-announces) an incident. */
export function isDown(event: AlertEvent): boolean {
  return event.to === 'DOWN' && event.kind !== 'flapping';
}

/** The end of an incident: the target is UP again (directly, or after flapping settled). */
export function isRecovery(event: AlertEvent): boolean {
  return event.to === 'UP' && event.kind !== 'flapping';
}

/** "1h2m3s", rounded to whole seconds past a minute; "850ms" below a second. */
export function humanDuration(ms: number): string {
  return formatDuration(ms < 1000 ? Math.max(0, Math.round(ms)) : ms < 60_000 ? Math.round(ms / 100) * 100 : Math.round(ms / 1000) * 1000);
}

export function humanLatency(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "api DOWN", "api UP after 5m3s", "api FLAPPING", "api stopped flapping (UP)". */
export function eventHeadline(event: AlertEvent): string {
  const via = event.suppressedBy === undefined ? '' : ` (depends on ${event.suppressedBy})`;
  switch (event.kind) {
    case 'flapping':
      return `${event.target} FLAPPING${via}`;
    case 'flapping-ended':
      return `${event.target} stopped flapping (${event.to})${via}`;
    case 'state':
      if (event.to === 'UP' && event.downForMs !== undefined) return `${event.target} UP after ${humanDuration(event.downForMs)}${via}`;
      return `${event.target} ${event.to}${via}`;
  }
}

/** "api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432". */
export function eventSummary(event: AlertEvent): string {
  const headline = eventHeadline(event);
  return event.reason === '' ? headline : `${headline}: ${event.reason}`;
}

const GROUP_NAMES_SHOWN = 5;

/**
 * The whole alert in one line: the event's summary for a single event, counts and the first
 * names for a group. Test alerts start with "[TEST]", reminders with "Reminder:".
 */
export function alertSummary(alert: Alert): string {
  const prefix = alert.kind === 'test' ? '[TEST] ' : alert.kind === 'reminder' ? 'Reminder: ' : '';
  const [first, ...rest] = alert.events;
  if (!first) return `${prefix}no events`;
  if (rest.length === 0) return prefix + (alert.kind === 'reminder' ? reminderSummary(first, alert.createdAt) : eventSummary(first));
  const names = alert.events.slice(0, GROUP_NAMES_SHOWN).map((e) => e.target).join(', ');
  const more = alert.events.length > GROUP_NAMES_SHOWN ? ` and ${alert.events.length - GROUP_NAMES_SHOWN} more` : '';
  return `${prefix}${countStates(alert.events)}: ${names}${more}`;
}

/** "12 targets DOWN, 3 UP", "2 targets FLAPPING". */
export function countStates(events: readonly { to: string; kind?: string }[]): string {
  const counts = new Map<string, number>();
  for (const event of events) {
    const state = event.kind === 'flapping' ? 'FLAPPING' : event.to;
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const parts = [...counts].map(([state, count], index) => (index === 0 ? `${count} ${count === 1 ? 'target' : 'targets'} ${state}` : `${count} ${state}`));
  return parts.join(', ');
}

function reminderSummary(event: AlertEvent, now: number): string {
  const downFor = now - event.at >= 1000 ? ` for ${humanDuration(now - event.at)}` : '';
  return `${event.target} still ${event.to}${downFor}: ${event.reason}`;
}

/** Cuts text to at most `max` characters, ending in "…" when cut; never splits a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}
