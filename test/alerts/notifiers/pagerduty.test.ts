import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Notifier } from '../../../src/alerts/notifier.js';
import { createNotifier } from '../../../src/alerts/notifiers/index.js';
import { acknowledgePagerDutyIncident, pagerDutyEventsFor, type PagerDutyConfig } from '../../../src/alerts/notifiers/pagerduty.js';
import { pagerdutyNotifierSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/log.js';
import { startFakePagerDuty, type FakePagerDuty } from '../../fakes/pagerduty.js';
import { alertOf, downEvent, MemoryMemos, never, upEvent } from './fixtures.js';

const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';

let pagerduty: FakePagerDuty;
before(async () => {
  pagerduty = await startFakePagerDuty();
});
after(() => pagerduty.close());
beforeEach(() => {
  pagerduty.requests.length = 0;
  pagerduty.events.length = 0;
  pagerduty.alerts.clear();
});

function config(overrides: Partial<PagerDutyConfig> = {}): PagerDutyConfig {
  return { type: 'pagerduty', routingKey: ROUTING_KEY, severity: 'critical', url: pagerduty.enqueueUrl, timeout: 2000, ...overrides };
}

function notifier(overrides: Partial<PagerDutyConfig> = {}): Notifier {
  return createNotifier('pager', config(overrides), { logger: silentLogger(), memos: new MemoryMemos() });
}

describe('pagerduty notifier', () => {
  test('a DOWN triggers with every payload field, its recovery resolves the same dedup_key', async () => {
    const down = downEvent('api', { labels: { team: 'payments', env: 'prod' }, result: { ok: false, latencyMs: 3001, at: 0, error: 'timeout after 3000ms', phases: { dns: 1, connect: 3000 }, details: { status: 0 } } });
    assert.deepEqual(await notifier().deliver(alertOf([down]), never), { status: 'delivered' });
    const [trigger] = pagerduty.events;
    assert.equal(trigger?.event_action, 'trigger');
    assert.equal(trigger?.routing_key, ROUTING_KEY);
    assert.equal(trigger?.dedup_key, 'probebot:inc-api');
    assert.deepEqual({ ...trigger?.payload, custom_details: undefined }, {
      summary: 'api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
      source: '127.0.0.1:5432',
      severity: 'critical',
      timestamp: new Date(down.at).toISOString(),
      component: 'api',
      group: 'payments',
      class: 'tcp',
      custom_details: undefined,
    });
    const details = trigger?.payload?.custom_details as Record<string, unknown>;
    assert.deepEqual(details.result, { ok: false, latencyMs: 3001, error: 'timeout after 3000ms', phases: { dns: 1, connect: 3000 }, details: { status: 0 } });
    assert.deepEqual(details.labels, { team: 'payments', env: 'prod' });
    assert.equal(details.reason, down.reason);

    assert.deepEqual(await notifier().deliver(alertOf([upEvent('api')]), never), { status: 'delivered' });
    assert.deepEqual(pagerduty.events[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'probebot:inc-api' });
    assert.equal(pagerduty.alerts.get('probebot:inc-api'), 'resolved');
  });

  test('source comes from the config when set, severity from the config', async () => {
    await notifier({ source: 'probebot-eu', severity: 'error' }).deliver(alertOf([downEvent('api')]), never);
    assert.equal(pagerduty.events[0]?.payload?.source, 'probebot-eu');
    assert.equal(pagerduty.events[0]?.payload?.severity, 'error');
  });

  test('a summary over 1024 characters is cut to fit and accepted', async () => {
    const long = downEvent('api', { reason: `3 consecutive failures: ${'x'.repeat(5000)}` });
    assert.deepEqual(await notifier().deliver(alertOf([long]), never), { status: 'delivered' });
    const summary = pagerduty.events[0]?.payload?.summary ?? '';
    assert.equal(summary.length, 1024);
    assert.ok(summary.endsWith('…'));
  });

  test('a 400 fails with PagerDuty\'s message and errors', async () => {
    const outcome = await notifier({ routingKey: 'too-short' }).deliver(alertOf([downEvent('api')]), never);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.status === 'failed' ? outcome.error : '', /^PagerDuty answered HTTP 400: Event object is invalid: 'routing_key' must be 32 characters \(check the notifier's routingKey/);
  });

  test('429 and 5xx ask for a retry, with Retry-After when given', async () => {
    pagerduty.rateLimit({ retryAfterSeconds: 30 });
    const limited = await notifier().deliver(alertOf([downEvent('api')]), never);
    assert.equal(limited.status, 'retry');
    assert.equal(limited.status === 'retry' ? limited.retryAfterMs : undefined, 30_000);
    pagerduty.failNext(1, 500);
    assert.equal((await notifier().deliver(alertOf([downEvent('api')]), never)).status, 'retry');
    pagerduty.failNext(1, 503);
    assert.equal((await notifier().deliver(alertOf([downEvent('api')]), never)).status, 'retry');
    assert.deepEqual(await notifier().deliver(alertOf([downEvent('api')]), never), { status: 'delivered' });
  });

  test('an unreachable PagerDuty asks for a retry', async () => {
    await pagerduty.down();
    const outcome = await notifier().deliver(alertOf([downEvent('api')]), never);
    await pagerduty.up();
    assert.equal(outcome.status, 'retry');
    assert.match(outcome.status === 'retry' ? outcome.error : '', /^PagerDuty unreachable: 127\.0\.0\.1:\d+: (connect ECONNREFUSED|other side closed)/);
  });

  test('a hung PagerDuty is a retry at the configured timeout (10s unless set)', async () => {
    pagerduty.hang();
    try {
      const outcome = await notifier({ timeout: 150 }).deliver(alertOf([downEvent('api')]), never);
      assert.equal(outcome.status, 'retry');
      assert.match(outcome.status === 'retry' ? outcome.error : '', /^PagerDuty unreachable: timeout after 150ms waiting for 127\.0\.0\.1:\d+$/);
      assert.equal(pagerduty.requests.length, 1, 'the request was sent and left unanswered');
    } finally {
      pagerduty.hang(false);
    }
    assert.equal(pagerdutyNotifierSchema.parse({ type: 'pagerduty', routingKey: ROUTING_KEY }).timeout, 10_000);
  });

  test('flapping triggers a warning on its own key, and its end resolves it', async () => {
    await notifier().deliver(alertOf([downEvent('api', { kind: 'flapping', to: 'FLAPPING', incidentId: undefined as never })]), never);
    await notifier().deliver(alertOf([upEvent('api', { kind: 'flapping-ended', from: 'FLAPPING', incidentId: undefined as never })]), never);
    assert.deepEqual(pagerduty.events.map((e) => [e.event_action, e.dedup_key, e.payload?.severity]), [
      ['trigger', 'probebot:flapping:api', 'warning'],
      ['resolve', 'probebot:flapping:api', undefined],
    ]);
  });

  test('a grouped alert sends one event per target; a suppressed dependent pages nothing', async () => {
    const alert = alertOf([downEvent('router', { dependents: ['app'] }), downEvent('app', { suppressedBy: 'router' }), upEvent('db')]);
    assert.deepEqual(await notifier().deliver(alert, never), { status: 'delivered' });
    assert.deepEqual(pagerduty.events.map((e) => [e.event_action, e.dedup_key]), [
      ['trigger', 'probebot:inc-router'],
      ['resolve', 'probebot:inc-db'],
    ]);
    assert.deepEqual((pagerduty.events[0]?.payload?.custom_details as { dependents?: string[] }).dependents, ['app']);
  });

  test('a reminder re-triggers the same key; a test alert is marked and keyed apart', () => {
    const reminder = pagerDutyEventsFor(alertOf([downEvent('api')], { kind: 'reminder' }), config());
    assert.equal(reminder[0]?.dedup_key, 'probebot:inc-api');
    assert.match(reminder[0]?.payload?.summary ?? '', /^Reminder: api still DOWN/);
    const testAlert = pagerDutyEventsFor(alertOf([downEvent('api')], { kind: 'test' }), config());
    assert.equal(testAlert[0]?.dedup_key, 'probebot:test:inc-api');
    assert.match(testAlert[0]?.payload?.summary ?? '', /^\[TEST\] api DOWN/);
  });

  test('a dedup_key never exceeds 255 characters', () => {
    const events = pagerDutyEventsFor(alertOf([downEvent('api', { incidentId: 'i'.repeat(400) })]), config());
    assert.equal(events[0]?.dedup_key.length, 255);
  });

  test('acknowledge marks the incident\'s PagerDuty alert acknowledged', async () => {
    await notifier().deliver(alertOf([downEvent('api')]), never);
    assert.deepEqual(await acknowledgePagerDutyIncident(config(), 'inc-api', never), { status: 'delivered' });
    assert.equal(pagerduty.alerts.get('probebot:inc-api'), 'acknowledged');
  });
});
