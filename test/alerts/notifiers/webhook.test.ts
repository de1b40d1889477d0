import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Notifier } from '../../../src/alerts/notifier.js';
import { createNotifier } from '../../../src/alerts/notifiers/index.js';
import { signWebhook, type WebhookConfig } from '../../../src/alerts/notifiers/webhook.js';
import { checkWebhookTemplate } from '../../../src/alerts/notifiers/webhook-template.js';
import { silentLogger } from '../../../src/log.js';
import { startWebhookReceiver, type FakeWebhookReceiver } from '../../fakes/webhook-receiver.js';
import { alertOf, downEvent, MemoryMemos, never, upEvent } from './fixtures.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let receiver: FakeWebhookReceiver;
before(async () => {
  receiver = await startWebhookReceiver({ secret: SECRET });
});
after(() => receiver.close());
beforeEach(() => {
  receiver.requests.length = 0;
  receiver.respondWith([]);
  receiver.setStatus(200);
  receiver.hang(false);
});

function notifier(overrides: Partial<WebhookConfig> = {}): Notifier {
  const config: WebhookConfig = { type: 'webhook', url: receiver.url, secret: SECRET, timeout: 2000, ...overrides };
  return createNotifier('hook', config, { logger: silentLogger(), memos: new MemoryMemos() });
}

describe('webhook signing', () => {
  test('matches the Standard Webhooks specification\'s test vector', () => {
    assert.equal(signWebhook(SECRET, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('webhook notifier', () => {
  test('two events arrive signed, verified by the receiver, with the documented body', async () => {
    const down = alertOf([downEvent('api')]);
    const up = alertOf([upEvent('api')]);
    assert.deepEqual(await notifier().deliver(down, never), { status: 'delivered' });
    assert.deepEqual(await notifier().deliver(up, never), { status: 'delivered' });
    assert.equal(receiver.requests.length, 2);
    for (const request of receiver.requests) assert.equal(request.verified, true, request.verifyError);
    const [first, second] = receiver.requests;
    assert.equal(first?.headers['webhook-id'], down.id);
    assert.equal(first?.headers['content-type'], 'application/json');
    assert.ok(Math.abs(Number(first?.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
    assert.deepEqual(first?.json, {
      version: 1,
      id: down.id,
      alert: 'transition',
      eventId: down.events[0]?.id,
      kind: 'state',
      target: 'api',
      targetType: 'tcp',
      address: '127.0.0.1:5432',
      from: 'UP',
      to: 'DOWN',
      at: '2026-01-01T12:00:00.000Z',
      summary: 'api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
      reason: '3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
      result: { ok: false, latencyMs: 12, at: '2026-01-01T12:00:00.000Z', error: 'connect ECONNREFUSED 127.0.0.1:5432' },
      labels: { team: 'core' },
      incidentId: 'inc-api',
    });
    assert.deepEqual([(second?.json as Record<string, unknown>).to, (second?.json as Record<string, unknown>).downForMs], ['UP', 300_000]);
  });

  test('a receiver with another secret sees the signature fail', async () => {
    const other = await startWebhookReceiver({ secret: 'whsec_b3RoZXIgc2VjcmV0IGtleSBmb3IgdGVzdHM=' });
    try {
      await notifier({ url: other.url }).deliver(alertOf([downEvent('api')]), never);
      assert.equal(other.requests[0]?.verified, false);
    } finally {
      await other.close();
    }
  });

  test('a grouped alert is one body with kind "group" and the events in order', async () => {
    const alert = alertOf([downEvent('api'), downEvent('db'), upEvent('cache')]);
    await notifier().deliver(alert, never);
    const body = receiver.requests[0]?.json as { kind: string; id: string; summary: string; events: Array<{ target: string; eventId: string }> };
    assert.equal(body.kind, 'group');
    assert.equal(body.id, alert.id);
    assert.equal(body.summary, '2 targets DOWN, 1 UP: api, db, cache');
    assert.deepEqual(body.events.map((e) => [e.target, e.eventId]), alert.events.map((e) => [e.target, e.id]));
  });

  test('custom headers are sent; the signature headers cannot be overridden', async () => {
    await notifier({ headers: { Authorization: 'Bearer hook-token', 'X-Team': 'core', 'webhook-id': 'forged' } }).deliver(alertOf([downEvent('api')]), never);
    const request = receiver.requests[0];
    assert.equal(request?.headers.authorization, 'Bearer hook-token');
    assert.equal(request?.headers['x-team'], 'core');
    assert.notEqual(request?.headers['webhook-id'], 'forged');
    assert.equal(request?.verified, true);
  });

  test('answers map to outcomes: 2xx delivered, 404 failed, 408/429/5xx retried', async () => {
    const table: Array<[number, string, number | undefined]> = [
      [200, 'delivered', undefined],
      [204, 'delivered', undefined],
      [404, 'failed', undefined],
      [400, 'failed', undefined],
      [301, 'failed', undefined],
      [408, 'retry', undefined],
      [429, 'retry', 12_000],
      [500, 'retry', undefined],
      [503, 'retry', undefined],
    ];
    for (const [status, expected, retryAfterMs] of table) {
      receiver.respondWith([{ status, headers: status === 429 ? { 'retry-after': '12' } : {} }]);
      const outcome = await notifier().deliver(alertOf([downEvent('api')]), never);
      assert.equal(outcome.status, expected, `HTTP ${status}`);
      if (outcome.status !== 'delivered') assert.match(outcome.error, new RegExp(`^HTTP ${status} from 127\\.0\\.0\\.1:\\d+`));
      assert.equal(outcome.status === 'retry' ? outcome.retryAfterMs : undefined, retryAfterMs, `HTTP ${status}`);
    }
  });

  test('503 three times then 200: the same alert id is sent each time', async () => {
    receiver.respondWith([503, 503, 503]);
    const alert = alertOf([downEvent('api')]);
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await notifier().deliver(alert, never)).status);
    assert.deepEqual(outcomes, ['retry', 'retry', 'retry', 'delivered']);
    assert.deepEqual(new Set(receiver.requests.map((r) => r.headers['webhook-id'])), new Set([alert.id]));
  });

  test('a hung receiver is a retry at the configured timeout', async () => {
    receiver.hang();
    const started = performance.now();
    const outcome = await notifier({ timeout: 150 }).deliver(alertOf([downEvent('api')]), never);
    const elapsed = performance.now() - started;
    assert.equal(outcome.status, 'retry');
    assert.match(outcome.status === 'retry' ? outcome.error : '', /^timeout after 150ms waiting for 127\.0\.0\.1:\d+$/);
    assert.ok(elapsed >= 140 && elapsed < 1500, `took ${elapsed}ms`);
  });

  test('an unreachable receiver is a retry that names the host, not the URL path', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const outcome = await notifier({ url: `${gone.url}/secret-token-in-path` }).deliver(alertOf([downEvent('api')]), never);
    assert.equal(outcome.status, 'retry');
    const error = outcome.status === 'retry' ? outcome.error : '';
    assert.match(error, /ECONNREFUSED/);
    assert.doesNotMatch(error, /secret-token/);
  });

  test('a template reshapes the body, values escaped as JSON', async () => {
    const template = '{"text": "{{text}}", "who": "{{target}}", "team": "{{labels.team}}", "latency": {{result.latencyMs}}, "labels": {{json labels}}, "none": "{{nothing}}"}';
    const event = downEvent('api', { reason: 'status 503: "Service Unavailable"\nretry later' });
    await notifier({ template }).deliver(alertOf([event]), never);
    const request = receiver.requests[0];
    assert.equal(request?.verified, true, 'the template body is what is signed');
    assert.deepEqual(request?.json, {
      text: 'api DOWN: status 503: "Service Unavailable"\nretry later',
      who: 'api',
      team: 'core',
      latency: 12,
      labels: { team: 'core' },
      none: '',
    });
  });

  test('a template text lists each event of a group on its own line', async () => {
    await notifier({ template: '{"content": "{{text}}"}' }).deliver(alertOf([downEvent('api'), downEvent('db')]), never);
    const content = (receiver.requests[0]?.json as { content: string }).content;
    assert.deepEqual(content.split('\n'), [
      '2 targets DOWN: api, db',
      '• api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
      '• db DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });

  test('a template that cannot produce JSON fails with a clear message, and is caught up front', async () => {
    const broken = '{"text": {{summary}}}';
    const outcome = await notifier({ template: broken }).deliver(alertOf([downEvent('api')]), never);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.status === 'failed' ? outcome.error : '', /^notifier hook: template does not produce JSON/);
    assert.equal(receiver.requests.length, 0);
    assert.match(checkWebhookTemplate(broken) ?? '', /template does not produce JSON/);
    assert.equal(checkWebhookTemplate('{"text": "{{summary}}"}'), undefined);
    // Raw numbers break only where the field is missing (a group): that is left to delivery.
    assert.equal(checkWebhookTemplate('{"latency": {{result.latencyMs}}, "down": {{downForMs}}}'), undefined);
  });

  test('without a secret the body is sent unsigned, still with webhook-id', async () => {
    await notifier({ secret: undefined as never }).deliver(alertOf([downEvent('api')]), never);
    const request = receiver.requests[0];
    assert.equal(request?.headers['webhook-signature'], undefined);
    assert.ok(request?.headers['webhook-id']);
    assert.equal(request?.verified, false);
  });
});
