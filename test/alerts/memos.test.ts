import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { MEMO_FLUSH_DELAY_MS, MEMO_RETENTION_MS, openMemoStore } from '../../src/alerts/memos.js';
import type { Alert, DeliveryOutcome, MemoStore, Notifier } from '../../src/alerts/notifier.js';
import { FakeClock } from '../fakes/clock.js';
import { capturingLogger, makeConfig, tcpTargets, World } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'probebot-memos-'));
  dirs.push(dir);
  return dir;
}
async function onDisk(dir: string): Promise<Record<string, Record<string, { memo: unknown }>>> {
  try {
    return (JSON.parse(await readFile(join(dir, 'memos.json'), 'utf8')) as { memos: Record<string, Record<string, { memo: unknown }>> }).memos;
  } catch {
    return {};
  }
}

describe('memo store', () => {
  it('keeps notes in memory at once and writes them in one batch, not one write per note', async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock });
    for (let i = 0; i < 100; i++) memos.set('slack', `incident-${i}`, { channel: 'C1', ts: `${i}.0001` });
    assert.deepEqual(memos.get('slack', 'incident-42'), { channel: 'C1', ts: '42.0001' });
    assert.deepEqual(await onDisk(dir), {}, 'nothing written yet');
    await clock.advance(MEMO_FLUSH_DELAY_MS);
    await memos.flush();
    assert.equal(Object.keys((await onDisk(dir)).slack ?? {}).length, 100);
    await memos.close();
  });

  it('flush() makes every change so far durable, and a reopened store reads it back', async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock });
    memos.set('slack', 'a', { ts: '1' });
    memos.set('slack', 'b', { ts: '2' });
    memos.delete('slack', 'a');
    await memos.flush();
    const reopened = await openMemoStore(dir, capturingLogger().logger, { clock });
    assert.equal(reopened.get('slack', 'a'), undefined);
    assert.deepEqual(reopened.get('slack', 'b'), { ts: '2' });
    assert.deepEqual(reopened.entries('slack'), [['b', { ts: '2' }]]);
    await memos.close();
    await reopened.close();
  });

  it('hands out copies, so a caller cannot change a stored note by accident', async () => {
    const memos = await openMemoStore(await tempDir(), capturingLogger().logger, { clock: new FakeClock() });
    const note = { ts: '1' };
    memos.set('slack', 'a', note);
    note.ts = 'changed';
    const read = memos.get('slack', 'a')!;
    read.ts = 'changed too';
    assert.deepEqual(memos.get('slack', 'a'), { ts: '1' });
    await memos.close();
  });

  it('forgets notes untouched for the retention period when opened', async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock });
    memos.set('slack', 'old', { ts: '1' });
    await clock.advance(MEMO_RETENTION_MS - 1000);
    memos.set('slack', 'recent', { ts: '2' });
    await memos.close();
    await clock.advance(2000);
    const reopened = await openMemoStore(dir, capturingLogger().logger, { clock });
    assert.equal(reopened.get('slack', 'old'), undefined);
    assert.deepEqual(reopened.get('slack', 'recent'), { ts: '2' });
    await reopened.close();
  });

  it('sets an unreadable file aside and starts empty, with a log line', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'memos.json'), '{"memos": ');
    const { logger, lines } = capturingLogger();
    const memos = await openMemoStore(dir, logger, { clock: new FakeClock() });
    assert.deepEqual(memos.entries('slack'), []);
    assert.ok((await readdir(dir)).includes('memos.json.corrupt'));
    assert.equal(lines.filter((line) => line.level === 50).length, 1);
    await memos.close();
  });
});

describe('memos and delivery', () => {
  const worlds: World[] = [];
  afterEach(async () => {
    for (const world of worlds.splice(0)) await world.close();
  });

  it('are on disk before a delivered alert leaves the outbox (a Slack ts is never lost)', async () => {
    const clock = new FakeClock();
    const dir = await mkdtemp(join(tmpdir(), 'probebot-memos-'));
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock });
    /** Like Slack: remembers the message it posted for each incident while delivering. */
    class PostingNotifier implements Notifier {
      readonly name = 'chat';
      readonly type = 'slack' as const;
      readonly groupsEvents = true;
      constructor(private readonly store: MemoStore) {}
      deliver(alert: Alert): Promise<DeliveryOutcome> {
        for (const event of alert.events) this.store.set(this.name, `incident:${event.incidentId}`, { channel: 'C1', ts: '1700000000.000100' });
        return Promise.resolve({ status: 'delivered' });
      }
    }
    const config = makeConfig({ notifiers: { chat: { type: 'slack', channel: 'C1' } }, targets: tcpTargets(['api'], { notify: ['chat'] }) });
    const world = await World.open(config, { clock, dir, memos, notifiers: [new PostingNotifier(memos)] });
    worlds.push(world);
    world.engine.start();
    const down = world.goDown('api');
    await world.engine.idle();
    const outbox = (await readdir(join(dir, 'outbox'))).filter((name) => name.endsWith('.json'));
    assert.deepEqual(outbox, [], 'delivered and removed');
    assert.deepEqual((await onDisk(dir)).chat?.[`incident:${down.incidentId}`]?.memo, { channel: 'C1', ts: '1700000000.000100' }, 'without waiting for the batch timer');
  });
});
