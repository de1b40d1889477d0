/**
 * The webhook notifier's `template` (see webhook.ts for the placeholders), apart from the
 * notifier so that config checks can try a template without loading an HTTP client.
 */
import type { WebhookBody } from './webhook.js';

const PLACEHOLDER = /\{\{\s*(json\s+)?([A-Za-z0-9_.]+)\s*\}\}/g;
const TEXT_LINES = 50;

/** Fills a template's placeholders from the body; the result must be JSON. */
export function renderTemplate(template: string, document: WebhookBody): { ok: true; body: string } | { ok: false; error: string } {
  const fields = { ...document, text: templateText(document) };
  const body = template.replace(PLACEHOLDER, (_match, json: string | undefined, path: string) => {
    const value = lookup(fields, path);
    if (json !== undefined) return JSON.stringify(value ?? null);
    if (value === undefined || value === null) return '';
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return JSON.stringify(text).slice(1, -1);
  });
  try {
    JSON.parse(body);
    return { ok: true, body };
  } catch (error) {
    return { ok: false, error: `template does not produce JSON (${(error as Error).message}); check its quotes and commas` };
  }
}

/** An alert of one DOWN event with every field set: what a template sees at its fullest. */
const SAMPLE: WebhookBody = {
  version: 1,
  id: 'sample',
  alert: 'transition',
  eventId: 'sample-event',
  kind: 'state',
  target: 'api',
  targetType: 'http',
  address: 'https://api.example.com/health',
  from: 'UP',
  to: 'DOWN',
  at: '2026-01-01T12:00:00.000Z',
  summary: 'api DOWN: 3 consecutive failures: status 503, expected 200',
  reason: '3 consecutive failures: status 503, expected 200',
  result: { ok: false, latencyMs: 12, at: '2026-01-01T12:00:00.000Z', error: 'status 503, expected 200', phases: { connect: 1 }, details: { status: 503 } },
  labels: { team: 'core' },
  incidentId: 'sample-incident',
  downForMs: 300_000,
  suppressedBy: 'db',
  dependents: ['web'],
};

/**
 * A one-line error when a template cannot produce JSON even for an alert with every field set,
 * for config checks. A template that only breaks on a missing field is left to delivery.
 */
export function checkWebhookTemplate(template: string): string | undefined {
  const rendered = renderTemplate(template, SAMPLE);
  return rendered.ok ? undefined : rendered.error;
}

function templateText(document: WebhookBody): string {
  if (document.kind !== 'group') return document.summary;
  const lines = document.events.slice(0, TEXT_LINES).map((event) => `• ${event.summary}`);
  if (document.events.length > TEXT_LINES) lines.push(`… and ${document.events.length - TEXT_LINES} more`);
  return [document.summary, ...lines].join('\n');
}

function lookup(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
