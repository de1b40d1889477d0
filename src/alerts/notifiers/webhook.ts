/**
 * The webhook notifier: POSTs one JSON document per alert, signed per Standard Webhooks.
 *
 * Body (version 1) for an alert of one event:
 *
 *   {
 *     "version": 1,
 *     "id": "…",              the alert's id; equals the webhook-id header and stays the same across retries: dedupe on it
 *     "alert": "transition",  or "reminder" (still DOWN) or "test" (`probebot test-alert`; nothing is down)
 *     "eventId": "…",         the event's own id
 *     "kind": "state",        or "flapping" / "flapping-ended"
 *     "target": "api", "targetType": "http", "address": "https://api.example.com/health",
 *     "from": "UP", "to": "DOWN",   to is DOWN or UP for "state", FLAPPING for "flapping"
 *     "at": "2026-01-01T12:00:00.000Z",
 *     "summary": "api DOWN: 3 consecutive failures: status 503, expected 200",
 *     "reason": "3 consecutive failures: status 503, expected 200",
 *     "result": { "ok": false, "latencyMs": 12, "at": "…", "error": "status 503, expected 200", "phases": {…}, "details": {…} },
 *     "labels": { "team": "core" },
 *     "incidentId": "…",       from the DOWN to its recovery (absent when there is none)
 *     "downForMs": 300000,     on a recovery: how long it was DOWN
 *     "suppressedBy": "db",    a dependent that went down with its dependency `db`
 *     "dependents": ["…"]      on a dependency: the dependents folded into this alert
 *   }
 *
 * Body for an alert that groups several events (collected during `groupWait`):
 *
 *   { "version": 1, "id": "…", "alert": "transition", "kind": "group", "at": "…",
 *     "summary": "12 targets DOWN, 2 UP: api, db, cache, queue, search and 9 more",
 *     "events": [ { "eventId": …, "kind": …, "target": …, … }, … ] }   each as above, without version, id and alert
 *
 * Headers: `content-type: application/json`, the configured `headers`, and per Standard Webhooks
 * `webhook-id` (the alert id), `webhook-timestamp` (Unix seconds) and, when `secret` is set,
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the
 * base64-decoded part of `whsec_…`. Verify it with any Standard Webhooks library.
 *
 * `template` replaces the body for receivers that want their own shape (Slack incoming webhooks,
 * Discord, Teams, Google Chat). Placeholders name a field of the body above, dotted for nested
 * ones (`{{result.error}}`, `{{labels.team}}`), plus `{{text}}`: the summary and, for a group, one
 * line per event. `{{field}}` inserts the value escaped for use inside a JSON string;
 * `{{json field}}` inserts it as a JSON value (quoted string, number, object). A missing field is
 * empty (`null` with `json`). The result must be JSON (webhook-template.ts renders it). Examples:
 *   Slack, Google Chat:  {"text": "{{text}}"}
 *   Discord:             {"content": "{{text}}"}
 *   Teams (workflow):    {"type": "message", "summary": "{{summary}}", "text": "{{text}}"}
 */
import { createHmac } from 'node:crypto';
import { systemClock, type Clock } from '../../clock.js';
import type { NotifierConfig } from '../../config/schema.js';
import type { Alert, AlertEvent, DeliveryOutcome, Notifier } from '../notifier.js';
import { alertSummary, eventSummary } from '../summary.js';
import { describeAnswer, outcomeOfAnswer, postJson } from './http.js';
import { renderTemplate } from './webhook-template.js';

export type WebhookConfig = Extract<NotifierConfig, { type: 'webhook' }>;

export type WebhookEvent = {
  eventId: string;
  kind: AlertEvent['kind'];
  target: string;
  targetType: AlertEvent['targetType'];
  address: string;
  from: AlertEvent['from'];
  to: AlertEvent['to'];
  at: string;
  summary: string;
  reason: string;
  result: Record<string, unknown>;
  labels: Record<string, string>;
  incidentId?: string;
  downForMs?: number;
  suppressedBy?: string;
  dependents?: string[];
};

type Envelope = { version: 1; id: string; alert: Alert['kind'] };
export type WebhookBody = (Envelope & WebhookEvent) | (Envelope & { kind: 'group'; at: string; summary: string; events: WebhookEvent[] });

export function createWebhookNotifier(name: string, config: WebhookConfig, clock: Clock = systemClock): Notifier {
  return {
    name,
    type: 'webhook',
    groupsEvents: true,
    async deliver(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome> {
      const document = webhookBody(alert);
      let body = JSON.stringify(document);
      if (config.template !== undefined) {
        const rendered = renderTemplate(config.template, document);
        if (!rendered.ok) return { status: 'failed', error: `notifier ${name}: ${rendered.error}` };
        body = rendered.body;
      }
      const timestamp = Math.floor(clock.now() / 1000);
      const headers: Record<string, string> = { ...lowercaseKeys(config.headers ?? {}), 'webhook-id': alert.id, 'webhook-timestamp': String(timestamp) };
      if (config.secret !== undefined) headers['webhook-signature'] = signWebhook(config.secret, alert.id, timestamp, body);
      const attempt = await postJson({ url: config.url, body, headers, timeoutMs: config.timeout, signal });
      if (!attempt.answered) return { status: 'retry', error: attempt.error };
      return outcomeOfAnswer(attempt.answer, (answer) => describeAnswer(answer, config.url), clock.now());
    },
  };
}

/** Standard Webhooks `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, key = base64 after `whsec_`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export function webhookBody(alert: Alert): WebhookBody {
  const envelope: Envelope = { version: 1, id: alert.id, alert: alert.kind };
  const [only] = alert.events;
  if (only && alert.events.length === 1) return { ...envelope, ...webhookEvent(only, alertSummary(alert)) };
  return {
    ...envelope,
    kind: 'group',
    at: new Date(alert.createdAt).toISOString(),
    summary: alertSummary(alert),
    events: alert.events.map((event) => webhookEvent(event, eventSummary(event))),
  };
}

function webhookEvent(event: AlertEvent, summary: string): WebhookEvent {
  const { result } = event;
  const out: WebhookEvent = {
    eventId: event.id,
    kind: event.kind,
    target: event.target,
    targetType: event.targetType,
    address: event.address,
    from: event.from,
    to: event.to,
    at: new Date(event.at).toISOString(),
    summary,
    reason: event.reason,
    result: { ok: result.ok, latencyMs: result.latencyMs, at: new Date(result.at).toISOString(), error: result.error, phases: result.phases, details: result.details },
    labels: event.labels,
  };
  if (event.incidentId !== undefined) out.incidentId = event.incidentId;
  if (event.downForMs !== undefined) out.downForMs = event.downForMs;
  if (event.suppressedBy !== undefined) out.suppressedBy = event.suppressedBy;
  if (event.dependents !== undefined) out.dependents = event.dependents;
  return out;
}

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}
