import type { ProbeResult } from '../probes/types.js';
import { isFlapping, percentStateChange } from './flap.js';
import {
  RECENT_LATENCIES,
  type AnnouncedState,
  type StatePolicy,
  type TargetState,
  type TargetStatus,
  type TransitionEvent,
  type TransitionKind,
} from './types.js';

/** A target nobody has probed yet. */
export function initialStatus(target: string, now: number): TargetStatus {
  return {
    target,
    state: 'UNKNOWN',
    since: now,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    history: [],
    flapping: false,
    flapPercent: 0,
    announced: 'UNKNOWN',
    recentLatencies: [],
  };
}

/**
 * Feeds one probe result to a target's status: returns the new status (the input is left as it
 * was) and the events worth telling people about. Pure: `now` is the only time it knows.
 *
 * - UP -> DOWN after `failureThreshold` consecutive failures; DOWN -> UP after `successThreshold`
 *   consecutive successes.
 * - From UNKNOWN (first start), the first success makes the target UP at once and silently (a
 *   healthy start is not news); `failureThreshold` consecutive failures make it DOWN, announced
 *   as UNKNOWN -> DOWN. Like Gatus and Nagios, the first results establish the state.
 * - While flapping (flap.ts), UP/DOWN changes are tracked but held back; when flapping ends, the
 *   current state is announced if it differs from what people were told before it began.
 * - An announced DOWN opens an incident whose id every later event carries until the recovery.
 * - Thresholds and window come from `policy` on every call, so a config reload applies to the
 *   counters and history as they stand.
 */
export function step(
  status: TargetStatus,
  result: ProbeResult,
  policy: StatePolicy,
  now: number,
): { status: TargetStatus; events: TransitionEvent[] } {
  const next = record(status, result, policy, now);
  const events: TransitionEvent[] = [];
  const emit = (kind: TransitionKind, from: AnnouncedState, to: AnnouncedState, reason: string): TransitionEvent => {
    const event: TransitionEvent = { target: next.target, kind, from, to, at: now, result, reason };
    if (next.incident) event.incidentId = next.incident.id;
    events.push(event);
    return event;
  };

  if (!status.flapping && next.flapping) {
    emit('flapping', next.announced, 'FLAPPING', `flapping: ${percent(next.flapPercent)} state change >= ${policy.flap.high}%`);
    // Not flapping before, so what was announced is a state, not FLAPPING.
    next.announcedBeforeFlapping = next.announced === 'FLAPPING' ? next.state : next.announced;
    next.announced = 'FLAPPING';
  } else if (status.flapping && !next.flapping) {
    emit('flapping-ended', 'FLAPPING', next.state, `flapping ended: ${percent(next.flapPercent)} <= ${policy.flap.low}%`);
    next.announced = next.announcedBeforeFlapping ?? 'UNKNOWN';
    delete next.announcedBeforeFlapping;
    announceState(next, now, afterFlappingReason(next.state, result), emit);
  } else if (!next.flapping) {
    announceState(next, now, stateReason(next, result), emit);
  }
  return { status: next, events };
}

/** The new status with this result counted, before deciding what to announce. */
function record(status: TargetStatus, result: ProbeResult, policy: StatePolicy, now: number): TargetStatus {
  const consecutiveFailures = result.ok ? 0 : status.consecutiveFailures + 1;
  const consecutiveSuccesses = result.ok ? status.consecutiveSuccesses + 1 : 0;
  const state = nextState(status.state, consecutiveFailures, consecutiveSuccesses, policy);
  const history = nextHistory(status.history, result.ok, policy.flap.window);
  const flapPercent = percentStateChange(history, policy.flap.window);
  return {
    ...status,
    state,
    since: state === status.state ? status.since : now,
    consecutiveFailures,
    consecutiveSuccesses,
    history,
    flapping: isFlapping(status.flapping, flapPercent, policy.flap),
    flapPercent,
    lastResult: result,
    recentLatencies: [...status.recentLatencies, result.latencyMs].slice(-RECENT_LATENCIES),
  };
}

/**
 * The last `window` results with this one added. A full history of results all like this one
 * comes back as the same array (never mutated, so sharing it is safe): a steady target then
 * allocates no new history per probe.
 */
function nextHistory(history: readonly boolean[], ok: boolean, window: number): boolean[] {
  if (history.length === window && history.every((earlier) => earlier === ok)) return history as boolean[];
  return [...history, ok].slice(-window);
}

/**
 * Whether a restart needs `after` saved, rather than `before`: the state, the announcements and
 * the incident, the flap history, and the counters while they can still decide a transition
 * (up to the thresholds). A steady target's new latency and last result are display data only.
 */
export function changesSavedState(before: TargetStatus, after: TargetStatus, policy: StatePolicy): boolean {
  return (
    before.state !== after.state ||
    before.since !== after.since ||
    before.announced !== after.announced ||
    before.announcedBeforeFlapping !== after.announcedBeforeFlapping ||
    before.flapping !== after.flapping ||
    before.incident?.id !== after.incident?.id ||
    !sameFlapHistory(before.history, after.history, policy.flap.window) ||
    (before.consecutiveFailures !== after.consecutiveFailures && after.consecutiveFailures <= policy.failureThreshold) ||
    (before.consecutiveSuccesses !== after.consecutiveSuccesses && after.consecutiveSuccesses <= policy.successThreshold)
  );
}

/**
 * Whether two histories score the same now and after any further results: compared over the
 * window with the missing older results filled with the oldest one, as percentStateChange()
 * counts them. A new steady target's history grows for a whole window without changing this.
 */
function sameFlapHistory(a: readonly boolean[], b: readonly boolean[], window: number): boolean {
  if (a === b) return true;
  if (a.length === 0 || b.length === 0) return a.length === b.length;
  for (let back = 1; back <= window; back++) {
    if (a[Math.max(0, a.length - back)] !== b[Math.max(0, b.length - back)]) return false;
  }
  return true;
}

function nextState(current: TargetState, failures: number, successes: number, policy: StatePolicy): TargetState {
  if (failures >= policy.failureThreshold) return 'DOWN';
  if (current === 'UNKNOWN' && successes > 0) return 'UP';
  if (current === 'DOWN' && successes >= policy.successThreshold) return 'UP';
  return current;
}

type Emit = (kind: TransitionKind, from: AnnouncedState, to: AnnouncedState, reason: string) => TransitionEvent;

/** Tells people the current state when it differs from what they were last told. */
function announceState(next: TargetStatus, now: number, reason: string, emit: Emit): void {
  if (next.state === 'UNKNOWN' || next.state === next.announced) return;
  if (next.state === 'UP' && next.announced === 'UNKNOWN') {
    next.announced = 'UP';
    return;
  }
  const from = next.announced;
  next.announced = next.state;
  if (next.state === 'DOWN') {
    // Derived from the target and the time only, so a retried delivery keeps the same key.
    next.incident = { id: `${next.target}@${new Date(now).toISOString()}`, since: now };
    emit('state', from, 'DOWN', reason);
    return;
  }
  const recovery = emit('state', from, 'UP', reason);
  if (next.incident) recovery.downForMs = now - next.incident.since;
  delete next.incident;
}

function stateReason(status: TargetStatus, result: ProbeResult): string {
  if (status.state === 'UP') return plural(status.consecutiveSuccesses, 'consecutive success', 'consecutive successes');
  const failures = plural(status.consecutiveFailures, 'consecutive failure', 'consecutive failures');
  return result.error === undefined ? failures : `${failures}: ${result.error}`;
}

function afterFlappingReason(state: TargetState, result: ProbeResult): string {
  const reason = `${state.toLowerCase()} after flapping`;
  return state === 'DOWN' && result.error !== undefined ? `${reason}: ${result.error}` : reason;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** 42.5% (one decimal place, none when whole). */
function percent(value: number): string {
  return `${Math.round(value * 10) / 10}%`;
}

/**
 * After a crash the alert outbox can know of an announcement that the (batched) saved state
 * missed. Taking it over keeps the incident: its recovery closes the alert people already got,
 * instead of a second DOWN opening another one. Only UP and DOWN announcements newer than the
 * saved state are taken; anything else returns the status unchanged.
 */
export function adoptAnnouncement(status: TargetStatus, announced: { state: AnnouncedState; at: number; incidentId?: string }): TargetStatus {
  if (announced.state !== 'UP' && announced.state !== 'DOWN') return status;
  if (announced.state === status.announced) return status;
  // A status made fresh at this start (nothing was saved) knows nothing newer than the announcement.
  if (status.state !== 'UNKNOWN' && announced.at <= status.since) return status;
  const adopted: TargetStatus = { ...status, state: announced.state, announced: announced.state, since: announced.at };
  if (announced.state === 'DOWN') {
    adopted.incident = { id: announced.incidentId ?? `${status.target}@${new Date(announced.at).toISOString()}`, since: announced.at };
    adopted.consecutiveSuccesses = 0;
  } else {
    delete adopted.incident;
    adopted.consecutiveFailures = 0;
  }
  return adopted;
}
