import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldDependents, shouldSendNow, splitIntoAlerts } from '../../src/alerts/grouping.js';
import type { AlertEvent } from '../../src/alerts/notifier.js';

function event(target: string, to: 'DOWN' | 'UP', suppressedBy?: string): AlertEvent {
  const base: AlertEvent = {
    id: `${target}-${to}`, target, kind: 'state', from: to === 'DOWN' ? 'UP' : 'DOWN', to, at: 0,
    result: { ok: to === 'UP', latencyMs: 1, at: 0 }, reason: '', targetType: 'tcp', address: '127.0.0.1:1', labels: {},
  };
  return suppressedBy === undefined ? base : { ...base, suppressedBy };
}

describe('storm grouping decisions', () => {
  const cases = [
    { name: 'a quiet notifier sends at once', window: { endsAt: 0, collected: 0 }, now: 1000, expected: true },
    { name: 'inside an open window, events are collected', window: { endsAt: 5000, collected: 0 }, now: 1000, expected: false },
    { name: 'once the window has closed, the next event goes at once', window: { endsAt: 5000, collected: 0 }, now: 5000, expected: true },
    { name: 'while events wait, a newcomer joins them (order)', window: { endsAt: 0, collected: 3 }, now: 9000, expected: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(shouldSendNow(c.window, c.now), c.expected));

  it('splits a storm into alert-sized chunks, in order, losing none', () => {
    const items = Array.from({ length: 1200 }, (_, i) => i);
    const chunks = splitIntoAlerts(items, 500);
    assert.deepEqual(chunks.map((chunk) => chunk.length), [500, 500, 200]);
    assert.deepEqual(chunks.flat(), items);
  });

  it('names the dependents folded into a dependency in the same alert, without touching the input', () => {
    const input = [event('gw', 'DOWN'), event('db', 'DOWN', 'gw'), event('api', 'DOWN', 'gw'), event('other', 'DOWN'), event('web', 'UP')];
    const output = foldDependents(input);
    assert.deepEqual(output[0]?.dependents, ['db', 'api']);
    assert.equal(output[3]?.dependents, undefined);
    assert.equal(input[0]?.dependents, undefined);
  });

  it('keeps dependents already named on the dependency', () => {
    const gw = { ...event('gw', 'DOWN'), dependents: ['db'] };
    assert.deepEqual(foldDependents([gw, event('db', 'DOWN', 'gw'), event('api', 'DOWN', 'gw')])[0]?.dependents, ['db', 'api']);
  });
});
