import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertEvent } from '../../../src/alerts/notifier.js';
import { alertSummary, eventSummary, humanDuration, humanLatency } from '../../../src/alerts/summary.js';
import { alertOf, downEvent, T0, upEvent } from './fixtures.js';

describe('one-line summaries', () => {
  const events: Array<[string, AlertEvent, string]> = [
    ['a DOWN', downEvent('api'), 'api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432'],
    ['a recovery', upEvent('api', { downForMs: 3_723_000 }), 'api UP after 1h2m3s: 2 consecutive successes'],
    ['a first UP', upEvent('api', { from: 'UNKNOWN', downForMs: undefined as never, reason: '' }), 'api UP'],
    ['flapping', downEvent('api', { kind: 'flapping', to: 'FLAPPING', reason: 'flap 42% >= 30%' }), 'api FLAPPING: flap 42% >= 30%'],
    ['flapping ended', upEvent('api', { kind: 'flapping-ended', from: 'FLAPPING', reason: 'flap 10% <= 15%' }), 'api stopped flapping (UP): flap 10% <= 15%'],
    ['a dependent', downEvent('app', { suppressedBy: 'router', reason: 'r' }), 'app DOWN (depends on router): r'],
  ];
  for (const [name, event, expected] of events) {
    test(`${name}: ${expected}`, () => assert.equal(eventSummary(event), expected));
  }

  test('alerts: test, reminder, group', () => {
    assert.match(alertSummary(alertOf([downEvent('api')], { kind: 'test' })), /^\[TEST\] api DOWN: /);
    assert.match(alertSummary(alertOf([downEvent('api')], { kind: 'reminder', createdAt: T0 + 7_200_000 })), /^Reminder: api still DOWN for 2h: 3 consecutive/);
    const group = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => downEvent(name));
    assert.equal(alertSummary(alertOf([...group, upEvent('h')])), '7 targets DOWN, 1 UP: a, b, c, d, e and 3 more');
  });

  const durations: Array<[number, string]> = [[850, '850ms'], [12_345, '12.3s'], [90_000, '1m30s'], [3_723_456, '1h2m3s']];
  for (const [ms, text] of durations) test(`humanDuration(${ms}) = ${text}`, () => assert.equal(humanDuration(ms), text));
  test('humanLatency', () => assert.deepEqual([humanLatency(42.4), humanLatency(1234), humanLatency(12_345)], ['42 ms', '1.23 s', '12.3 s']));
});
