import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { MEMO_FLUSH_DELAY_MS, MEMO_RETENTION_MS, openMemoStore } from '../../src/alerts/memos.js';
import type { Alert, DeliveryOutcome, MemoStore, Notifier } from '../../src/alerts/notifier.js';
import { readOutbox } from '../../src/alerts/outbox.js';
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
/** The notes of one notifier a fresh process would read from `dir`. */
async function onDisk(dir: string, notifier: string): Promise<Record<string, unknown>> {
  const fresh = await openMemoStore(dir, capturingLogger().logger, { clock: new FakeClock() });
  const notes = Object.fromEntries(fresh.entries(notifier));
  await fresh.close();
  return notes;
}

describe('memo store', () => {
  it('keeps notes in memory at once and writes them in one batch, not one write per note', async () => {
    const dir = await tempDir();
    const clock = new FakeClock();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock });
    for (let i = 0; i < 100; i++) memos.set('slack', `incident-${i}`, { channel: 'C1', ts: `${i}.0001` });
    assert.deepEqual(memos.get('slack', 'incident-42'), { channel: 'C1', ts: '42.0001' });
    assert.deepEqual(await onDisk(dir, 'slack'), {}, 'nothing written yet');
    await clock.advance(MEMO_FLUSH_DELAY_MS);
    await memos.flush();
    assert.equal(Object.keys(await onDisk(dir, 'slack')).length, 100);
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

/** Bytes this process has written with write(2) and friends so far (Linux), or undefined. */
async function bytesWritten(): Promise<number | undefined> {
  try {
    const match = /^wchar: (\d+)$/m.exec(await readFile('/proc/self/io', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

describe('memo store under a storm', () => {
  it('writes each change about once when flushed after every delivered alert, not the whole file each time', async (t) => {
    const dir = await tempDir();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock: new FakeClock() });
    const before = await bytesWritten();
    if (before === undefined) return t.skip('no /proc/self/io here');
    // As the engine does in a storm to a non-grouping notifier: note what was told, deliver, flush, remove.
    for (let i = 0; i < 1_000; i++) {
      memos.set('@engine', `told:target-${String(i).padStart(4, '0')}`, { state: 'DOWN', from: 'UP', at: 1_700_000_000_000 + i, incidentId: `incident-${i}` });
      await memos.flush();
    }
    const written = (await bytesWritten())! - before;
    await memos.close();
    const finalSize = JSON.stringify(Object.fromEntries(memos.entries('@engine'))).length;
    t.diagnostic(`1,000 flushes of one change each: ${(written / 1024).toFixed(0)} KiB written for a ${(finalSize / 1024).toFixed(0)} KiB store`);
    // Rewriting the store on every flush would write about 500 × its final size (~45 MB here).
    assert.ok(written < 10 * finalSize, `${written} bytes written`);
    assert.equal(Object.keys(await onDisk(dir, '@engine')).length, 1_000);
  });

  it('ignores a torn last line in the log (a crash mid-append) and keeps every change before it', async () => {
    const dir = await tempDir();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock: new FakeClock() });
    memos.set('slack', 'a', { ts: '1' });
    await memos.flush();
    memos.set('slack', 'b', { ts: '2' });
    memos.delete('slack', 'a');
    await memos.flush();
    await memos.close();
    await writeFile(join(dir, 'memos.log'), `${await readFile(join(dir, 'memos.log'), 'utf8')}{"seq":9,"notifier":"slack","key":"c","me`);
    const { logger, lines } = capturingLogger();
    const reopened = await openMemoStore(dir, logger, { clock: new FakeClock() });
    assert.deepEqual(reopened.entries('slack'), [['b', { ts: '2' }]]);
    assert.deepEqual(lines.filter((line) => (line.level as number) >= 40), [], 'a torn last line is expected after a crash');
    reopened.set('slack', 'd', { ts: '4' }); // written after folding the log in, never after the torn line
    await reopened.close();
    assert.deepEqual(await onDisk(dir, 'slack'), { b: { ts: '2' }, d: { ts: '4' } });
  });

  it('does not replay old log lines over a newer snapshot when a crash came between writing one and emptying the other', async () => {
    const dir = await tempDir();
    const memos = await openMemoStore(dir, capturingLogger().logger, { clock: new FakeClock() });
    memos.set('slack', 'a', { ts: 'old' });
    await memos.flush();
    const staleLog = await readFile(join(dir, 'memos.log'), 'utf8');
    await memos.close();
    const reopened = await openMemoStore(dir, capturingLogger().logger, { clock: new FakeClock() });
    reopened.set('slack', 'a', { ts: 'new' });
    await reopened.flush(); // folds the old log into memos.json and empties it
    await reopened.close();
    await writeFile(join(dir, 'memos.log'), staleLog); // as if the emptying never reached the disk
    assert.deepEqual(await onDisk(dir, 'slack'), { a: { ts: 'new' } });
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
    assert.deepEqual(await readOutbox(join(dir, 'outbox')), [], 'delivered and removed');
    assert.deepEqual((await onDisk(dir, 'chat'))[`incident:${down.incidentId}`], { channel: 'C1', ts: '1700000000.000100' }, 'without waiting for the batch timer');
  });
});
