/**
 * What the Slack app needs from the rest of the bot. The composition root (src/app.ts)
 * implements it; tests implement it over real probes against local targets.
 */
import type { SilenceApi } from '../alerts/delivery.js';
import type { Target } from '../config/schema.js';
import type { TargetStatus } from '../monitor/types.js';
import type { ProbeResult } from '../probes/types.js';

/** A person in Slack: the user ID is what access and records rely on, the name is for reading. */
export interface SlackUser {
  id: string;
  name: string;
}

/** What acknowledging an incident did outside Slack: one entry per PagerDuty notifier of the target. */
export interface AcknowledgeOutcome {
  pagerDuty: Array<{ notifier: string; ok: boolean; error?: string }>;
}

export interface SlackBotPort {
  /** The configured targets, in config order; read on every command, so a reload shows at once. */
  targets(): readonly Target[];
  statusOf(target: string): TargetStatus | undefined;
  /**
   * Probes now, outside the schedule, within the bot's probe concurrency, under the target's own
   * timeout joined with `signal`. The result changes no state, counter or schedule.
   */
  probe(target: Target, signal: AbortSignal): Promise<ProbeResult>;
  readonly silences: SilenceApi;
  /**
   * A person took the incident: acknowledge it in PagerDuty for every PagerDuty notifier the
   * target alerts (no entries when it pages nobody). Never rejects.
   */
  acknowledge(target: string, incidentId: string, by: SlackUser, signal: AbortSignal): Promise<AcknowledgeOutcome>;
  /** Keeps who acknowledged (a mrkdwn note) with the incident's alert message, for its later updates. */
  recordAcknowledgement(incidentId: string, note: string): void;
}
