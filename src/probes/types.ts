import type { Target } from '../config/schema.js';

/** Per-phase timings in milliseconds, where the probe type has them. */
export interface ProbePhases {
  dns?: number;
  connect?: number;
  tls?: number;
  firstByte?: number;
  body?: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Wall time of the whole probe in milliseconds (the RTT for ICMP). */
  latencyMs: number;
  /** When the probe started, ms since the epoch. */
  at: number;
  /** A short human reason when not ok: "connect ECONNREFUSED 127.0.0.1:5432", "status 503, expected 200". */
  error?: string;
  phases?: ProbePhases;
  /** Small, type-specific facts worth showing: HTTP status, cert days left, resolved answers. */
  details?: Record<string, string | number | boolean | string[]>;
}

/**
 * One probe type: runs once against a target and resolves with a result (never rejects for a
 * target failure). The signal carries the deadline; when it aborts, the probe releases every
 * socket and child at once and resolves with a failed result.
 */
export type Probe<T extends Target = Target> = (target: T, signal: AbortSignal) => Promise<ProbeResult>;

const deadlineReasons = new Map<number, DOMException>();

/**
 * The reason a scheduler's deadline aborts with; probes tell it from a shutdown by its name.
 * Made once per timeout value (a config has a few): constructing a DOMException captures a
 * stack, and with 2,000 blackholed targets that was 1.6% of the bot's busy time.
 */
export function deadlineReason(timeoutMs: number): DOMException {
  let reason = deadlineReasons.get(timeoutMs);
  if (reason === undefined) {
    reason = new DOMException(`timeout after ${timeoutMs}ms`, 'TimeoutError');
    deadlineReasons.set(timeoutMs, reason);
  }
  return reason;
}

/** Whether the signal was aborted by a deadline (a TimeoutError), not by a shutdown. */
export function isDeadline(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return (reason instanceof DOMException || reason instanceof Error) && reason.name === 'TimeoutError';
}

/** "timeout after 3000ms (waiting for body)" for a deadline, "aborted (…)" for a shutdown. */
export function describeAbort(signal: AbortSignal, timeoutMs: number, phase: string): string {
  return isDeadline(signal) ? `timeout after ${timeoutMs}ms (${phase})` : `aborted (${phase})`;
}

/** "latency 950ms over budget 800ms"; undefined within budget or without one. */
export function checkLatency(latencyMs: number, maxLatency: number | undefined): string | undefined {
  if (maxLatency === undefined || latencyMs <= maxLatency) return undefined;
  return `latency ${Math.round(latencyMs)}ms over budget ${maxLatency}ms`;
}
