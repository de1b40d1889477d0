/**
 * PagerDuty through the Events API v2. Each event maps to PagerDuty events with a stable
 * `dedup_key`, so a DOWN's trigger and its recovery's resolve land on the same PagerDuty alert:
 *
 * - DOWN                     → trigger  `probebot:<incidentId>` at the configured severity
 * - UP (a recovery)          → resolve  `probebot:<incidentId>`; a first UP with no incident sends nothing
 * - reminder (still DOWN)    → trigger with the same key: PagerDuty folds it into the open alert,
 *                              or opens a new one if a person resolved it while the target is still DOWN
 * - FLAPPING                 → trigger  `probebot:flapping:<target>` at severity `warning`: a flapping
 *                              target is unreliable, not necessarily out, and should not page like an outage
 * - flapping ended           → resolve that flapping key, then trigger or resolve the incident key
 *                              according to the state the target settled in
 * - DOWN of a dependent folded into its dependency's alert (`suppressedBy`) → nothing: the
 *   dependency's incident pages once and lists its dependents in `custom_details.dependents`
 * - test alert (`probebot test-alert`) → as above with "[TEST]" in the summary and `probebot:test:` keys
 */
import type { NotifierConfig } from '../../config/schema.js';
import type { Alert, AlertEvent, DeliveryOutcome, Notifier } from '../notifier.js';
import { alertSummary, isDown, isRecovery, truncate } from '../summary.js';
import { describeAnswer, outcomeOfAnswer, postJson, type HttpAnswer } from './http.js';

export type PagerDutyConfig = Extract<NotifierConfig, { type: 'pagerduty' }>;
export type PagerDutySeverity = PagerDutyConfig['severity'];
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PagerDutyEvent {
  routing_key: string;
  event_action: PagerDutyAction;
  dedup_key: string;
  client?: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp: string;
    component: string;
    group?: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
}

const MAX_SUMMARY = 1024;
const MAX_DEDUP_KEY = 255;
/** PagerDuty refuses events over 512 KB; stay well under it. */
const MAX_EVENT_BYTES = 400_000;

export function createPagerDutyNotifier(name: string, config: PagerDutyConfig): Notifier {
  return {
    name,
    type: 'pagerduty',
    groupsEvents: false,
    async deliver(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome> {
      // One PagerDuty event per AlertEvent even if grouped; resending on a retry is harmless
      // because PagerDuty deduplicates on dedup_key.
      for (const event of pagerDutyEventsFor(alert, config)) {
        const outcome = await sendPagerDutyEvent(config, event, signal);
        if (outcome.status !== 'delivered') return outcome;
      }
      return { status: 'delivered' };
    },
  };
}

/** The PagerDuty events one alert becomes, in sending order (see the table at the top). */
export function pagerDutyEventsFor(alert: Alert, config: PagerDutyConfig): PagerDutyEvent[] {
  const events: PagerDutyEvent[] = [];
  const test = alert.kind === 'test';
  for (const event of alert.events) {
    const incidentKey = event.incidentId === undefined ? undefined : dedupKey(event.incidentId, test);
    const trigger = (key: string, severity: PagerDutySeverity) => events.push(triggerEvent(alert, event, config, key, severity));
    const resolve = (key: string) => events.push({ routing_key: config.routingKey, event_action: 'resolve', dedup_key: key });
    if (event.kind === 'flapping') {
      trigger(flappingKey(event.target, test), 'warning');
      continue;
    }
    if (event.kind === 'flapping-ended') resolve(flappingKey(event.target, test));
    if (isDown(event) && event.suppressedBy === undefined) trigger(incidentKey ?? dedupKey(`${event.target}:${event.id}`, test), config.severity);
    else if (isRecovery(event) && incidentKey !== undefined) resolve(incidentKey);
  }
  return events;
}

/** Acknowledges the PagerDuty alert of a probebot incident (the Slack app's Acknowledge button). */
export function acknowledgePagerDutyIncident(config: PagerDutyConfig, incidentId: string, signal: AbortSignal): Promise<DeliveryOutcome> {
  return sendPagerDutyEvent(config, { routing_key: config.routingKey, event_action: 'acknowledge', dedup_key: dedupKey(incidentId, false) }, signal);
}

/** `probebot:<incidentId>`, cut to PagerDuty's 255 characters. */
export function dedupKey(incidentId: string, test = false): string {
  return `probebot:${test ? 'test:' : ''}${incidentId}`.slice(0, MAX_DEDUP_KEY);
}

function flappingKey(target: string, test: boolean): string {
  return dedupKey(`flapping:${target}`, test);
}

export async function sendPagerDutyEvent(config: Pick<PagerDutyConfig, 'url' | 'timeout'>, event: PagerDutyEvent, signal: AbortSignal): Promise<DeliveryOutcome> {
  const url = config.url;
  const attempt = await postJson({ url, body: JSON.stringify(event), headers: {}, timeoutMs: config.timeout, signal });
  if (!attempt.answered) return { status: 'retry', error: `PagerDuty unreachable: ${attempt.error}` };
  return outcomeOfAnswer(attempt.answer, (answer) => explainPagerDutyAnswer(answer, url));
}

function triggerEvent(alert: Alert, event: AlertEvent, config: PagerDutyConfig, key: string, severity: PagerDutySeverity): PagerDutyEvent {
  const summary = alertSummary({ ...alert, events: [event] });
  const group = event.labels.team ?? event.labels.group;
  const { result } = event;
  const customDetails: Record<string, unknown> = {
    result: { ok: result.ok, latencyMs: result.latencyMs, error: result.error, phases: result.phases, details: result.details },
    reason: event.reason,
    address: event.address,
    labels: event.labels,
    incidentId: event.incidentId,
    dependents: event.dependents,
  };
  if (alert.kind === 'test') customDetails.test = 'Sent by `probebot test-alert`: nothing is down.';
  const pdEvent: PagerDutyEvent = {
    routing_key: config.routingKey,
    event_action: 'trigger',
    dedup_key: key,
    client: 'probebot',
    payload: {
      summary: truncate(summary, MAX_SUMMARY),
      source: config.source ?? (event.address || event.target),
      severity,
      timestamp: new Date(event.at).toISOString(),
      component: event.target,
      ...(group === undefined ? {} : { group }),
      class: event.targetType,
      custom_details: customDetails,
    },
  };
  if (JSON.stringify(pdEvent).length > MAX_EVENT_BYTES) customDetails.result = { ok: result.ok, latencyMs: result.latencyMs, error: truncate(result.error ?? '', 2000) };
  return pdEvent;
}

/** "PagerDuty answered HTTP 400: Event object is invalid: … (check the notifier's routingKey …)". */
function explainPagerDutyAnswer(answer: HttpAnswer, url: string): string {
  const parsed = parseJson(answer.body);
  if (!parsed || typeof parsed.message !== 'string') return `PagerDuty: ${describeAnswer(answer, url)}`;
  const errors = Array.isArray(parsed.errors) ? parsed.errors.filter((e): e is string => typeof e === 'string') : [];
  const detail = errors.length > 0 ? `: ${errors.join('; ')}` : '';
  const hint = answer.status === 400 && /routing.?key/i.test(`${parsed.message}${detail}`) ? ' (check the notifier\'s routingKey: an Events API v2 integration key)' : '';
  return truncate(`PagerDuty answered HTTP ${answer.status}: ${parsed.message}${detail}${hint}`, 500);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
