/**
 * The outbox's files: an append-only segment log, what a crash mid-append leaves, the batch files of
 * the earlier layout, and disk use over a long run.
 */
import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AlertEvent } from '../../src/alerts/notifier.js';
import { Outbox, type OutboxRecord } from '../../src/alerts/outbox.js';
import { capturingLogger } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'probebot-segments-'));
  dirs.push(dir);
  return dir;
}

/**
 * What a fresh process would find if this one died now: a copy of the directory, opened. A segment
 * change still running is let finish first (copying is not instant, so it could see half of one).
 */
async function openedAfterCrash(dir: string, running?: Outbox): Promise<string[]> {
  await running?.idle();
  const copy = await tempDir();
  await cp(dir, copy, { recursive: true });
  const { outbox, records } = await Outbox.open(copy, capturingLogger().logger);
  await outbox.close();
  return records.map((record) => record.id);
}

function event(id: string): AlertEvent {
  return {
    id, target: 'api', kind: 'state', from: 'UP', to: 'DOWN', at: 0, result: { ok: false, latencyMs: 1, at: 0, error: 'connect ECONNREFUSED 127.0.0.1:1' },
    reason: '3 consecutive failures: connect ECONNREFUSED', targetType: 'tcp', address: '127.0.0.1:1', labels: {},
  };
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^\d+\.log$/.test(name));
}

async function writeAll(outbox: Outbox, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => outbox.write({ kind: 'collect', id, notifier: 'hook', events: [] }).durable));
}

describe('a crash mid-append', () => {
  it('loses only the half-written last line, and the next run never appends after it', async () => {
    const dir = await tempDir();
    const first = await Outbox.open(dir, capturingLogger().logger);
    await writeAll(first.outbox, ['a', 'b']);
    const [segment] = await segments(dir);
    assert.ok(segment !== undefined);
    await appendFile(join(dir, segment), '{"kind":"collect","id":"torn","seq":3,"noti'); // killed mid-write

    const { logger, lines } = capturingLogger();
    const second = await Outbox.open(dir, logger);
    assert.deepEqual(second.records.map((record) => record.id), ['a', 'b']);
    assert.equal(lines.filter((line) => line.level === 40).length, 1, 'one warning for the torn line');
    assert.equal(lines.filter((line) => (line.level as number) >= 50).length, 0, 'not treated as a corrupt file');
    await writeAll(second.outbox, ['c']);
    await second.outbox.close();

    const { logger: thirdLogger, lines: thirdLines } = capturingLogger();
    const third = await Outbox.open(dir, thirdLogger);
    assert.deepEqual(third.records.map((record) => record.id), ['a', 'b', 'c']);
    assert.deepEqual(thirdLines.filter((line) => (line.level as number) >= 40), []);
    assert.deepEqual((await readdir(dir)).filter((name) => name.includes('corrupt')), []);
    await third.outbox.close();
  });

  it('sets a segment with a broken line in the middle aside as .corrupt, logging once', async () => {
    const dir = await tempDir();
    const record = (id: string, seq: number) => JSON.stringify({ kind: 'collect', id, seq, notifier: 'hook', events: [] });
    await writeFile(join(dir, '000000000001.log'), `${record('a', 1)}\n{"kind":"coll\n${record('b', 3)}\n`);
    await writeFile(join(dir, '000000000002.log'), `${record('c', 4)}\n`);
    const { logger, lines } = capturingLogger();
    const { outbox, records } = await Outbox.open(dir, logger);
    assert.deepEqual(records.map((r) => r.id), ['c']);
    assert.ok((await readdir(dir)).includes('000000000001.log.corrupt'));
    assert.equal(lines.filter((line) => line.level === 50).length, 1);
    await outbox.close();
  });

  it('reads a record once when a crash while copying pending records left it in two segments', async () => {
    const dir = await tempDir();
    const record = (id: string, seq: number) => `${JSON.stringify({ kind: 'collect', id, seq, notifier: 'hook', events: [] })}\n`;
    await writeFile(join(dir, '000000000001.log'), record('a', 1) + record('gone', 2) + record('b', 3));
    await writeFile(join(dir, '000000000002.log'), record('a', 1)); // the copy was cut short
    await writeFile(join(dir, 'removed.log'), 'gone\n');
    const { outbox, records } = await Outbox.open(dir, capturingLogger().logger);
    assert.deepEqual(records.map((r) => r.id), ['a', 'b']);
    await outbox.close();
    assert.deepEqual(await openedAfterCrash(dir), ['a', 'b']);
  });
});

describe('upgrading from batch files', () => {
  it('delivers what the previous release left as .json batch files, minus what its journal removed', async () => {
    const dir = await tempDir();
    const batch = (records: OutboxRecord[]) => JSON.stringify({ records });
    const collect = (id: string, seq: number): OutboxRecord => ({ kind: 'collect', id, seq, notifier: 'hook', events: [] });
    await writeFile(join(dir, '000000000001.json'), batch([collect('a', 1), collect('b', 2)]));
    await writeFile(join(dir, '000000000003.json'), batch([collect('c', 3)]));
    await writeFile(join(dir, 'removed.log'), 'b\n');
    const { outbox, records } = await Outbox.open(dir, capturingLogger().logger);
    assert.deepEqual(records.map((record) => record.id), ['a', 'c']);
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.json')), [], 'carried into a segment');
    const { record } = outbox.write({ kind: 'collect', id: 'd', notifier: 'hook', events: [] });
    assert.ok(record.seq > 3, 'numbering continues after the old files');
    await outbox.remove(['a'], { durable: true });
    await outbox.close();
    assert.deepEqual(await openedAfterCrash(dir), ['c', 'd']);
  });
});

describe('durability', () => {
  it('a record is on disk once its write resolves, and a durable removal once it resolves', async () => {
    const dir = await tempDir();
    const { outbox } = await Outbox.open(dir, capturingLogger().logger, { segmentBytes: 512 });
    for (const id of ['a', 'b', 'c']) {
      await outbox.write({ kind: 'collect', id, notifier: 'hook', events: [] }).durable;
      assert.ok((await openedAfterCrash(dir, outbox)).includes(id), `${id} survives a crash once written`);
    }
    await outbox.remove(['b'], { durable: true });
    assert.deepEqual(await openedAfterCrash(dir, outbox), ['a', 'c']);
    // Many more, so segments are replaced while records come and go: the same holds across them.
    for (let i = 0; i < 30; i++) {
      await outbox.write({ kind: 'collect', id: `n${i}`, notifier: 'hook', events: [] }).durable;
      await outbox.remove([`n${i}`], { durable: true });
    }
    await outbox.remove(['a'], { durable: true });
    assert.deepEqual(await openedAfterCrash(dir, outbox), ['c']);
    await outbox.close();
  });
});

describe('disk use over a long run', () => {
  it('stays bounded after a thousand write/remove cycles, even with a record pending throughout', async () => {
    const dir = await tempDir();
    const segmentBytes = 4 * 1024;
    const { outbox } = await Outbox.open(dir, capturingLogger().logger, { segmentBytes });
    await writeAll(outbox, ['parked']); // e.g. for a notifier that is down the whole time
    let largest = { files: 0, bytes: 0 };
    for (let i = 0; i < 1_000; i++) {
      const id = `alert-${i}`;
      await outbox.write({ kind: 'collect', id, notifier: 'hook', events: [event(`e-${i}`)] }).durable;
      await outbox.remove([id], { durable: i % 2 === 0 });
      if (i % 50 === 49) {
        await outbox.idle();
        const names = await readdir(dir);
        const bytes = (await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size))).reduce((a, b) => a + b, 0);
        largest = { files: Math.max(largest.files, names.length), bytes: Math.max(largest.bytes, bytes) };
      }
    }
    // About 300 KB was written in all; what stays is one segment (at most about segmentBytes) and the journal.
    assert.ok(largest.files <= 2, `${largest.files} files`);
    assert.ok(largest.bytes <= 2 * segmentBytes, `${largest.bytes} bytes`);
    assert.ok((await readFile(join(dir, 'removed.log'), 'utf8')).split('\n').length < 100, 'the journal is rewritten, not only appended');
    await outbox.close();
    assert.deepEqual(await openedAfterCrash(dir), ['parked']);
  });
});
