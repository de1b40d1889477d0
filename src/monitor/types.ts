import type { ProbeResult } from '../probes/types.js';

/** The confirmed state of a target. */
export type TargetState = 'UNKNOWN' | 'UP' | 'DOWN';
/** What was last told to people: a state, or that the target is flapping. */
export type AnnouncedState = TargetState | 'FLAPPING';

/** Everything the state machine knows about one target; persisted across restarts. */
export interface TargetStatus {
  target: string;
  state: TargetState;
  /** When `state` began, ms since the epoch. */
  since: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Raw ok/fail of the last `flap.window` results, oldest first. */
  history: boolean[];
  flapping: boolean;
  /** Nagios percent state change over `history`, 0-100. */
  flapPercent: number;
  /**
   * The last state announced through a transition event (UNKNOWN until the first one). A healthy
   * start (UNKNOWN -> UP) is silent but sets it to UP: nobody needs telling, and the first outage
   * then reads UP -> DOWN.
   */
  announced: AnnouncedState;
  /** While flapping: what was announced before the flapping began, to compare with when it ends. */
  announcedBeforeFlapping?: TargetState;
  /** The open incident, from the announced DOWN until the announced recovery. */
  incident?: { id: string; since: number };
  lastResult?: ProbeResult;
  /** Recent latencies in ms, oldest first (for sparklines), at most RECENT_LATENCIES. */
  recentLatencies: number[];
}

export const RECENT_LATENCIES = 20;

export type TransitionKind = 'state' | 'flapping' | 'flapping-ended';

/** What the core emits when something worth telling people happens to a target. */
export interface TransitionEvent {
  target: string;
  kind: TransitionKind;
  /** The previously announced state. */
  from: AnnouncedState;
  /** The newly announced state: UP or DOWN for `state`, FLAPPING for `flapping`, the current state for `flapping-ended`. */
  to: AnnouncedState;
  at: number;
  result: ProbeResult;
  /** Short human reason: "3 consecutive failures: connect ECONNREFUSED …", "flap 42% >= 30%". */
  reason: string;
  /** Incident the event belongs to (stable key for PagerDuty dedup and Slack message updates). */
  incidentId?: string;
  /** For a recovery: how long the incident lasted, ms. */
  downForMs?: number;
}

/** The thresholds that drive one target's state machine. */
export interface StatePolicy {
  failureThreshold: number;
  successThreshold: number;
  flap: { window: number; high: number; low: number };
}
