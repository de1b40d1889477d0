/**
 * A fake PagerDuty Events API v2 at `<url>/v2/enqueue`: validates events as PagerDuty does
 * (400 `invalid event` with `errors`), answers 202 with the dedup_key, and tracks each alert's
 * status by dedup_key. Knobs: rateLimit (429), failNext (5xx), down/up.
 */
import { randomUUID } from 'node:crypto';
import { sendJson, startFakeServer, type OutageMode } from './fake-server.js';

export interface PagerDutyRequest {
  body: unknown;
  status: number;
  at: number;
}

export interface AcceptedEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: Record<string, unknown> & { summary: string; source: string; severity: string };
  [key: string]: unknown;
}

export interface FakePagerDuty {
  url: string;
  /** `<url>/v2/enqueue`: the value for the notifier's `url`. */
  enqueueUrl: string;
  requests: PagerDutyRequest[];
  /** Events answered 202, in order. */
  events: AcceptedEvent[];
  /** PagerDuty's view: each alert's last state by dedup_key. */
  alerts: Map<string, 'triggered' | 'acknowledged' | 'resolved'>;
  rateLimit(options?: { count?: number; retryAfterSeconds?: number }): void;
  failNext(count?: number, status?: number): void;
  /** Read requests and never answer them (until `hang(false)`, or the connection is dropped). */
  hang(on?: boolean): void;
  down(mode?: OutageMode): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const ACTIONS = ['trigger', 'acknowledge', 'resolve'];
const SEVERITIES = ['critical', 'error', 'warning', 'info'];

export async function startFakePagerDuty(): Promise<FakePagerDuty> {
  const requests: PagerDutyRequest[] = [];
  const events: AcceptedEvent[] = [];
  const alerts = new Map<string, 'triggered' | 'acknowledged' | 'resolved'>();
  let limited = { count: 0, retryAfterSeconds: undefined as number | undefined };
  let failing = { count: 0, status: 500 };
  let hanging = false;

  const server = await startFakeServer((request, raw, response) => {
    const record = (status: number, body: unknown) => requests.push({ body, status, at: Date.now() });
    if (request.url !== '/v2/enqueue' || request.method !== 'POST') {
      record(404, undefined);
      return sendJson(response, 404, { status: 'not found', message: 'Not Found' });
    }
    if (hanging) return void requests.push({ body: undefined, status: 0, at: Date.now() });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      record(400, undefined);
      return sendJson(response, 400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] });
    }
    if (limited.count > 0) {
      limited.count--;
      record(429, body);
      const headers: Record<string, string> = limited.retryAfterSeconds === undefined ? {} : { 'retry-after': String(limited.retryAfterSeconds) };
      return sendJson(response, 429, { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' }, headers);
    }
    if (failing.count > 0) {
      failing.count--;
      record(failing.status, body);
      return sendJson(response, failing.status, { status: 'error', message: 'Internal Server Error' });
    }
    const errors = validate(body);
    if (errors.length > 0) {
      record(400, body);
      return sendJson(response, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const event = body as AcceptedEvent;
    const dedupKey = event.dedup_key ?? randomUUID().replace(/-/g, '');
    record(202, body);
    events.push({ ...event, dedup_key: dedupKey });
    const previous = alerts.get(dedupKey);
    if (event.event_action === 'trigger') alerts.set(dedupKey, previous === 'acknowledged' ? 'acknowledged' : 'triggered');
    else if (previous !== undefined && previous !== 'resolved') alerts.set(dedupKey, event.event_action === 'resolve' ? 'resolved' : 'acknowledged');
    return sendJson(response, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  });

  return {
    url: server.url,
    enqueueUrl: `${server.url}/v2/enqueue`,
    requests,
    events,
    alerts,
    rateLimit({ count = 1, retryAfterSeconds } = {}) {
      limited = { count, retryAfterSeconds };
    },
    failNext(count = 1, status = 500) {
      failing = { count, status };
    },
    hang(on = true) {
      hanging = on;
    },
    down: (mode) => server.down(mode),
    up: () => server.up(),
    close: () => server.close(),
  };
}

/** PagerDuty's checks, with messages in its style. */
function validate(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return ['Event object must be a JSON object'];
  const event = body as Record<string, unknown>;
  const errors: string[] = [];
  if (typeof event.routing_key !== 'string' || event.routing_key.length === 0) errors.push("'routing_key' is missing or blank");
  else if (event.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
  if (typeof event.event_action !== 'string' || !ACTIONS.includes(event.event_action)) errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)");
  const key = event.dedup_key;
  if (key !== undefined && (typeof key !== 'string' || key.length > 255)) errors.push("'dedup_key' must be a string of at most 255 characters");
  if ((event.event_action === 'acknowledge' || event.event_action === 'resolve') && (typeof key !== 'string' || key === '')) errors.push("'dedup_key' is required for acknowledge and resolve");
  if (event.event_action === 'trigger') {
    const payload = event.payload as Record<string, unknown> | undefined;
    if (typeof payload !== 'object' || payload === null) errors.push("'payload' is missing");
    else {
      if (typeof payload.summary !== 'string' || payload.summary === '') errors.push("'payload.summary' is missing or blank");
      else if (payload.summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
      if (typeof payload.source !== 'string' || payload.source === '') errors.push("'payload.source' is missing or blank");
      if (typeof payload.severity !== 'string' || !SEVERITIES.includes(payload.severity)) errors.push("'payload.severity' is invalid (must be one of: critical, error, warning, info)");
      if (payload.timestamp !== undefined && (typeof payload.timestamp !== 'string' || Number.isNaN(Date.parse(payload.timestamp)))) errors.push("'payload.timestamp' must be an ISO 8601 date");
      if (payload.custom_details !== undefined && (typeof payload.custom_details !== 'object' || payload.custom_details === null)) errors.push("'payload.custom_details' must be an object");
    }
  }
  if (JSON.stringify(body).length > 512 * 1024) errors.push('Event must be smaller than 512 KB');
  return errors;
}
