import type { NotifierConfig, NotifierType, TargetType } from '../config/schema.js';
import type { TransitionEvent } from '../monitor/types.js';

/** A transition as delivered: the core's event plus what a receiver needs to show it. */
export interface AlertEvent extends TransitionEvent {
  /** Unique per event, stable across retries and restarts (webhook `id`, receivers dedupe on it). */
  id: string;
  targetType: TargetType;
  /** What was probed, for people: the URL, host:port or host. */
  address: string;
  labels: Record<string, string>;
  /** Set when this DOWN is folded into a dependency's alert (the dependency's name). */
  suppressedBy?: string;
  /** On a dependency's alert: the dependents that went down with it and are folded in. */
  dependents?: string[];
}

/** One message to one notifier: a single event, or several grouped by `groupWait`. */
export interface Alert {
  /** Unique, stable across retries and restarts (Standard Webhooks `webhook-id`). */
  id: string;
  notifier: string;
  createdAt: number;
  /** `reminder`: re-notification while DOWN; `test`: `probebot test-alert`. */
  kind: 'transition' | 'reminder' | 'test';
  events: AlertEvent[];
}

export type DeliveryOutcome =
  | { status: 'delivered' }
  /** Worth trying again (network error, 429, 5xx); `retryAfterMs` from a Retry-After header. */
  | { status: 'retry'; error: string; retryAfterMs?: number }
  /** Will never succeed as sent (400, invalid_auth, channel_not_found): logged, not retried. */
  | { status: 'failed'; error: string };

/**
 * Small durable notes a notifier keeps per incident, e.g. the Slack channel and message `ts`
 * of a DOWN alert so its recovery can update it after a restart. Values must be JSON.
 */
export interface MemoStore {
  get(notifier: string, key: string): Record<string, unknown> | undefined;
  set(notifier: string, key: string, memo: Record<string, unknown>): void;
  delete(notifier: string, key: string): void;
}

export interface Notifier {
  readonly name: string;
  readonly type: NotifierType;
  /** Whether the delivery engine may group several events into one alert for this notifier. */
  readonly groupsEvents: boolean;
  /** Sends one alert. Resolves with an outcome; never rejects. Honours the signal (deadline/shutdown). */
  deliver(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome>;
  close?(): Promise<void>;
}
