import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createNotifier } from '../../../src/alerts/notifiers/index.js';
import { alertOf, captureLogs, downEvent, MemoryMemos, never, upEvent } from './fixtures.js';

describe('log notifier', () => {
  test('writes one structured line per event: warn for DOWN, info for recovery', async () => {
    const logs = captureLogs();
    const notifier = createNotifier('log', { type: 'log' }, { logger: logs.logger, memos: new MemoryMemos() });
    const outcome = await notifier.deliver(alertOf([downEvent('api'), upEvent('db'), downEvent('web', { kind: 'flapping', to: 'FLAPPING' })]), never);
    assert.deepEqual(outcome, { status: 'delivered' });
    const lines = logs.lines();
    assert.equal(lines.length, 3);
    const { time: _time, ...down } = lines[0]!;
    assert.deepEqual(down, {
      level: 40,
      notifier: 'log',
      target: 'api',
      kind: 'state',
      from: 'UP',
      to: 'DOWN',
      at: '2026-01-01T12:00:00.000Z',
      reason: '3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
      error: 'connect ECONNREFUSED 127.0.0.1:5432',
      latencyMs: 12,
      incidentId: 'inc-api',
      msg: 'api DOWN: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432',
    });
    assert.deepEqual([lines[1]?.level, lines[1]?.msg, lines[1]?.downForMs], [30, 'db UP after 5m: 2 consecutive successes', 300_000]);
    assert.deepEqual([lines[2]?.level, lines[2]?.msg], [40, 'web FLAPPING: 3 consecutive failures: connect ECONNREFUSED 127.0.0.1:5432']);
  });

  test('marks test alerts and reminders in the message and a field', async () => {
    const logs = captureLogs();
    const notifier = createNotifier('log', { type: 'log' }, { logger: logs.logger, memos: new MemoryMemos() });
    await notifier.deliver(alertOf([downEvent('api')], { kind: 'test' }), never);
    await notifier.deliver(alertOf([downEvent('api')], { kind: 'reminder' }), never);
    assert.deepEqual(logs.lines().map((l) => [l.alert, String(l.msg).slice(0, 18)]), [['test', '[TEST] api DOWN: 3'], ['reminder', 'Reminder: api DOWN']]);
  });
});
