import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AlertEvent } from '../../src/alerts/notifier.js';
import { Outbox, pendingWork, readOutbox, type OutboxRecord } from '../../src/alerts/outbox.js';
import { FakeClock } from '../fakes/clock.js';
import { capturingLogger, makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'probebot-outbox-'));
  dirs.push(dir);
  return dir;
}

function event(id: string, target = 'api'): AlertEvent {
  return {
    id, target, kind: 'state', from: 'UP', to: 'DOWN', at: 0, result: { ok: false, latencyMs: 1, at: 0 }, reason: '',
    targetType: 'tcp', address: '127.0.0.1:1', labels: {},
  };
}

describe('outbox files', () => {
  it('reads back what was written, in write order, and deletes what was removed', async () => {
    const dir = await tempDir();
    const { outbox } = await Outbox.open(dir, capturingLogger().logger);
    const writes = ['a', 'b', 'c'].map((id) => outbox.write({ kind: 'collect', id, notifier: 'hook', events: [event(`e-${id}`)] }));
    await Promise.all(writes.map((write) => write.durable));
    await outbox.remove(['b'], { durable: true });
    const { records } = await Outbox.open(dir, capturingLogger().logger);
    assert.deepEqual(records.map((record) => record.id), ['a', 'c']);
    assert.ok(records[0]!.seq < records[1]!.seq);
  });

  it('continues numbering after a restart, so new records sort after old ones', async () => {
    const dir = await tempDir();
    const first = await Outbox.open(dir, capturingLogger().logger);
    await first.outbox.write({ kind: 'collect', id: 'old', notifier: 'hook', events: [] }).durable;
    const second = await Outbox.open(dir, capturingLogger().logger);
    await second.outbox.write({ kind: 'collect', id: 'new', notifier: 'hook', events: [] }).durable;
    const { records } = await Outbox.open(dir, capturingLogger().logger);
    assert.deepEqual(records.map((record) => record.id), ['old', 'new']);
  });

  it('drops half-written temporary files and sets unreadable ones aside with a log line', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '000000000001.json.123.0.tmp'), '{"records":[{"kind":"al');
    await writeFile(join(dir, '000000000002.json'), 'not json');
    const { logger, lines } = capturingLogger();
    const { records } = await Outbox.open(dir, logger);
    assert.deepEqual(records, []);
    const left = await readdir(dir);
    assert.ok(left.includes('000000000002.json.corrupt'), left.join(', '));
    assert.deepEqual(left.filter((name) => name.endsWith('.tmp') || name.endsWith('.json')), []);
    assert.equal(lines.filter((line) => line.level === 50).length, 1);
  });
});

describe('what a crash leaves behind', () => {
  const alert = (id: string, notifier: string, events: AlertEvent[], seq: number): OutboxRecord => ({
    kind: 'alert', id, seq, alert: { id, notifier, createdAt: 0, kind: 'transition', events },
  });

  it('does not send collected events twice when their alert was written but the collect file not yet deleted', () => {
    const records: OutboxRecord[] = [
      { kind: 'collect', id: 'c1', seq: 1, notifier: 'hook', events: [event('e1'), event('e2')] },
      { kind: 'collect', id: 'c2', seq: 2, notifier: 'hook', events: [event('e3')] },
      alert('a1', 'hook', [event('e1'), event('e2')], 3),
    ];
    const work = pendingWork(records);
    assert.deepEqual(work.obsolete, ['c1']);
    assert.deepEqual(work.collects.get('hook')?.map((record) => record.events.map((e) => e.id)), [['e3']]);
    assert.deepEqual(work.alerts.get('hook')?.map((record) => record.id), ['a1']);
  });

  it('keeps collected events of one notifier even when another notifier already has them', () => {
    const records: OutboxRecord[] = [
      alert('a1', 'pager', [event('e1')], 1),
      { kind: 'collect', id: 'c1', seq: 2, notifier: 'hook', events: [event('e1')] },
    ];
    assert.deepEqual(pendingWork(records).collects.get('hook')?.[0]?.events.map((e) => e.id), ['e1']);
  });

  it('does not release held events again once they were passed on', () => {
    const records: OutboxRecord[] = [
      { kind: 'hold', id: 'h1', seq: 1, target: 'db', since: 0, events: [event('e1', 'db')] },
      { kind: 'hold', id: 'h2', seq: 2, target: 'db', since: 0, events: [event('e2', 'db')] },
      { kind: 'collect', id: 'c1', seq: 3, notifier: 'hook', events: [event('e1', 'db')] },
    ];
    const work = pendingWork(records);
    assert.deepEqual(work.obsolete, ['h1']);
    assert.deepEqual(work.holds.get('db')?.map((record) => record.id), ['h2']);
  });
});

describe('kill -9 and restart', () => {
  it('delivers everything pending after the engine is dropped without stopping, with the same ids, in order', async () => {
    const config = makeConfig({
      notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' }, pager: { type: 'pagerduty', routingKey: 'k'.repeat(32) } },
      delivery: { groupWait: '10s' },
      targets: tcpTargets(['api', 'db'], { notify: ['hook', 'pager'] }),
    });
    const clock = new FakeClock();
    const hook = new TestNotifier('hook', 'webhook', true, clock);
    const pager = new TestNotifier('pager', 'pagerduty', false, clock);
    hook.always = 'hang';
    pager.always = 'hang';
    const first = await World.open(config, { clock, notifiers: [hook, pager] });
    first.engine.start();
    const published = [first.goDown('api')];
    await first.settle(1_000);
    published.push(first.goDown('db'));
    await first.settle(1_000);
    published.push(first.recover('api'));
    await first.settle(1_000);
    assert.equal(hook.attempts.length, 1, 'the first alert went out at once and hangs; the rest wait in the window');
    assert.equal(pager.attempts.length, 1);

    // Crash: the first engine is simply abandoned (its clock with it); a new one opens the same directory.
    const restartClock = new FakeClock(clock.now());
    const hook2 = new TestNotifier('hook', 'webhook', true, restartClock);
    const pager2 = new TestNotifier('pager', 'pagerduty', false, restartClock);
    const second = await World.open(config, { clock: restartClock, dir: first.dir, notifiers: [hook2, pager2], statuses: first.statuses });
    second.engine.start();
    await second.settle(1_000);

    assert.deepEqual(hook2.transitions(), ['api:DOWN', 'db:DOWN', 'api:UP']);
    assert.deepEqual(pager2.transitions(), ['api:DOWN', 'db:DOWN', 'api:UP']);
    assert.equal(hook2.delivered[0]?.id, hook.attempts[0]?.alert.id, 'the alert attempted before the crash keeps its id');
    assert.equal(pager2.delivered[0]?.id, pager.attempts[0]?.alert.id);
    const eventIds = hook2.events().map((e) => e.id);
    assert.deepEqual(pager2.events().map((e) => e.id), eventIds, 'each event keeps its id across notifiers and restarts');
    assert.deepEqual(hook2.events().map((e) => e.incidentId), published.map((e) => e.incidentId));
    assert.equal(second.engine.stats().pending, 0);
    assert.deepEqual(await readOutbox(join(first.dir, 'outbox')), []);
    await second.close();
  });
});

describe('removing records from a segment', () => {
  it('keeps a record removed from a file that still holds others removed across restarts', async () => {
    const dir = await tempDir();
    const { outbox } = await Outbox.open(dir, capturingLogger().logger);
    const writes = ['a', 'b', 'c'].map((id) => outbox.write({ kind: 'collect', id, notifier: 'hook', events: [] }));
    await Promise.all(writes.map((write) => write.durable));
    await outbox.remove(['b'], { durable: true });
    await outbox.close();
    for (let restart = 0; restart < 2; restart++) {
      const reopened = await Outbox.open(dir, capturingLogger().logger);
      assert.deepEqual(reopened.records.map((record) => record.id), ['a', 'c']);
      await reopened.outbox.close();
    }
  });

  it('deletes every file once all records are gone', async () => {
    const dir = await tempDir();
    const { outbox } = await Outbox.open(dir, capturingLogger().logger);
    const writes = ['a', 'b'].map((id) => outbox.write({ kind: 'collect', id, notifier: 'hook', events: [] }));
    await Promise.all(writes.map((write) => write.durable));
    await outbox.remove(['a']);
    await outbox.remove(['b']);
    await outbox.close();
    assert.deepEqual((await readdir(dir)).filter((name) => name !== 'removed.log'), []);
    const reopened = await Outbox.open(dir, capturingLogger().logger);
    assert.deepEqual(reopened.records, []);
    await reopened.outbox.close();
  });
});
