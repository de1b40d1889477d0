import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createLogger, type Logger } from '../../src/log.js';
import { initialStatus, step } from '../../src/monitor/state-machine.js';
import { encodeStatus, STATE_FILE, StateStore } from '../../src/monitor/store.js';
import type { StatePolicy, TargetStatus } from '../../src/monitor/types.js';
import { FakeClock } from '../fakes/clock.js';

const POLICY: StatePolicy = { failureThreshold: 1, successThreshold: 1, flap: { window: 21, high: 30, low: 15 } };
const FLUSH_MS = 1000;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'probebot-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
const freshDir = (): string => join(root, `case-${++dirs}`, 'state');

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; path?: string }> } {
  const lines: Array<{ level: number; msg: string; path?: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: createLogger({ destination, pretty: false, level: 'debug' }), lines };
}

/** Feeds results ("1" ok, "0" fail) to a new target, one per 10 s. */
function statusAfter(target: string, pattern: string): TargetStatus {
  let status = initialStatus(target, Date.UTC(2026, 0, 1));
  [...pattern].forEach((c, i) => {
    const at = Date.UTC(2026, 0, 1) + (i + 1) * 10_000;
    const latencyMs = 10 + i / 10;
    const result = c === '1' ? { ok: true, latencyMs, at } : { ok: false, latencyMs, at, error: `connect ECONNREFUSED 127.0.0.1:${5000 + i}` };
    status = step(status, result, POLICY, at).status;
  });
  return status;
}

function newStore(dir: string, clock = new FakeClock(), logger: Logger = capturingLogger().logger): StateStore {
  return new StateStore({ dir, flushIntervalMs: FLUSH_MS, clock, logger });
}

async function saveAndReload(dir: string, statuses: TargetStatus[]): Promise<Map<string, TargetStatus>> {
  const store = newStore(dir);
  await store.load();
  for (const status of statuses) store.update(status);
  await store.close();
  return newStore(dir).load();
}

describe('state store: round trip', () => {
  it('brings back every kind of status as it was saved', async () => {
    const down = statusAfter('db', '10');
    const flapping = statusAfter('api', '10101010');
    const recovered = statusAfter('cache', '1011');
    const fresh = initialStatus('new', Date.UTC(2026, 0, 1));
    assert.ok(down.incident && flapping.flapping && flapping.announcedBeforeFlapping && flapping.incident, 'the fixtures cover incidents and flapping');

    const loaded = await saveAndReload(freshDir(), [down, flapping, recovered, fresh]);
    assert.deepEqual(loaded, new Map([['db', down], ['api', flapping], ['cache', recovered], ['new', fresh]]));
  });

  it('leaves out the last result\'s phases and details, and keeps latencies to 0.1 ms', async () => {
    const status = statusAfter('web', '1');
    status.lastResult = { ok: true, latencyMs: 12.3456, at: 5, phases: { connect: 3 }, details: { status: 200 } };
    status.recentLatencies = [12.3456, 0.04];
    const loaded = (await saveAndReload(freshDir(), [status])).get('web');
    assert.deepEqual(loaded?.lastResult, { ok: true, latencyMs: 12.3, at: 5 });
    assert.deepEqual(loaded?.recentLatencies, [12.3, 0]);
  });

  it('keeps only the latest status of each target across many flushes', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    const pattern = '1101001110100101';
    for (let n = 1; n <= pattern.length; n++) {
      store.update(statusAfter('db', pattern.slice(0, n)));
      store.update(statusAfter(`other-${n % 3}`, pattern.slice(0, n)));
      await store.flush();
    }
    await store.close();
    const loaded = await newStore(dir).load();
    assert.deepEqual(loaded.get('db'), statusAfter('db', pattern));
    assert.equal(loaded.size, 4);
  });

  it('rewrites the log when it outgrows the live records, so it stays bounded', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    const sizes: number[] = [];
    for (let n = 1; n <= 30; n++) {
      const status = statusAfter('db', '1'.repeat(n));
      store.update(status);
      await store.flush();
      const size = (await stat(join(dir, STATE_FILE))).size;
      const live = encodeStatus(status).length + 1;
      // At most 4× the live records before the append that tips it over, plus that append.
      assert.ok(size <= 5 * live, `after ${n} flushes the log holds ${size} bytes for one ${live}-byte record`);
      sizes.push(size);
    }
    assert.ok(sizes.some((size, i) => i > 0 && size < sizes[i - 1]!), 'the log was compacted at least once');
    assert.deepEqual((await newStore(dir).load()).get('db'), statusAfter('db', '1'.repeat(30)));
  });

  it('forgets a removed target', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    store.update(statusAfter('db', '1'));
    store.update(statusAfter('gone', '1'));
    await store.flush();
    store.remove('gone');
    await store.close();
    assert.deepEqual([...(await newStore(dir).load()).keys()], ['db']);
  });

  it('forgets a target removed while a write is under way', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    store.update(statusAfter('db', '1'));
    store.update(statusAfter('gone', '1'));
    const writing = store.flush();
    await setImmediate();
    store.remove('gone');
    await writing;
    await store.close();
    assert.deepEqual([...(await newStore(dir).load()).keys()], ['db']);
  });
});

describe('state store: crashes and bad files', () => {
  it('a crash during a rewrite leaves the previous file intact (a stray temp file is ignored)', async () => {
    const dir = freshDir();
    const saved = statusAfter('db', '10');
    await saveAndReload(dir, [saved]);
    await writeFile(join(dir, `${STATE_FILE}.tmp`), '{"format":"probebot-target-states","ver');
    const { logger, lines } = capturingLogger();
    assert.deepEqual(await newStore(dir, new FakeClock(), logger).load(), new Map([['db', saved]]));
    assert.deepEqual(lines.filter((l) => l.level >= 40), []);
  });

  it('a crash during an append loses only the torn last record', async () => {
    const dir = freshDir();
    const saved = statusAfter('db', '10');
    await saveAndReload(dir, [saved]);
    await appendFile(join(dir, STATE_FILE), '{"target":"db","state":"UP","since":17');
    const store = newStore(dir);
    assert.deepEqual(await store.load(), new Map([['db', saved]]));
    // The next write must not append after the torn bytes.
    store.update(statusAfter('db', '101'));
    await store.close();
    assert.deepEqual((await newStore(dir).load()).get('db'), statusAfter('db', '101'));
  });

  const corrupt: Array<[name: string, content: string, reason: RegExp]> = [
    ['garbage', 'not json at all\n', /first line/],
    ['a malformed record', '{"format":"probebot-target-states","version":1}\n{"target":"db","state":"SIDEWAYS"}\n', /line 2/],
    ['a newer format', '{"format":"probebot-target-states","version":2}\n', /first line/],
    ['an empty file', '', /empty/],
  ];
  for (const [name, content, reason] of corrupt) {
    it(`a file with ${name} is reported, moved aside, and loads as empty`, async () => {
      const dir = freshDir();
      await saveAndReload(dir, [statusAfter('db', '1')]);
      await writeFile(join(dir, STATE_FILE), content);
      const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5));
      const { logger, lines } = capturingLogger();

      assert.deepEqual(await newStore(dir, clock, logger).load(), new Map());
      const aside = `${STATE_FILE}.corrupt-2026-01-02T03-04-05-000Z`;
      assert.deepEqual((await readdir(dir)).sort(), [aside]);
      assert.equal(await readFile(join(dir, aside), 'utf8'), content);
      const warnings = lines.filter((l) => l.level === 40);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.path, join(dir, STATE_FILE));
      assert.match(warnings[0]?.msg ?? '', reason);
      assert.match(warnings[0]?.msg ?? '', new RegExp(aside));
    });
  }

  it('a missing file is a first start, without a warning', async () => {
    const { logger, lines } = capturingLogger();
    assert.deepEqual(await newStore(freshDir(), new FakeClock(), logger).load(), new Map());
    assert.deepEqual(lines, []);
  });
});

describe('state store: write failures', () => {
  it('keeps going when the directory cannot be created, reports it once, and catches up when it can', async () => {
    const blocker = join(root, `blocker-${++dirs}`);
    await writeFile(blocker, 'a regular file where a directory should be');
    const dir = join(blocker, 'state');
    const clock = new FakeClock();
    const { logger, lines } = capturingLogger();
    const store = newStore(dir, clock, logger);

    assert.deepEqual(await store.load(), new Map());
    store.start();
    for (let n = 1; n <= 5; n++) {
      store.update(statusAfter('db', '1'.repeat(n)));
      await clock.advance(FLUSH_MS);
      await store.flush();
    }
    const failing = store.stats();
    assert.equal(failing.failing, true);
    assert.equal(failing.writes, 0);
    assert.match(failing.lastError ?? '', /ENOTDIR/);
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1, 'one error line for the whole streak');
    assert.match(errors[0]?.msg ?? '', /cannot save target states/);

    await rm(blocker);
    await clock.advance(FLUSH_MS);
    await store.flush();
    const recovered = store.stats();
    assert.equal(recovered.failing, false);
    assert.equal(recovered.lastError, undefined);
    assert.equal(recovered.writes, 1);
    assert.equal(lines.filter((l) => l.level === 30 && /saved again/.test(l.msg)).length, 1);
    await store.close();
    assert.deepEqual((await newStore(dir).load()).get('db'), statusAfter('db', '11111'));
  });

  it('rewrites the file whole after a failed write instead of appending to it', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    store.update(statusAfter('db', '1'));
    await store.flush();
    // Another process truncates the file: appending now would leave a headerless log.
    await writeFile(join(dir, STATE_FILE), '');
    store.update(statusAfter('db', '11'));
    await store.flush();
    assert.equal(store.stats().failing, true);
    store.update(statusAfter('db', '111'));
    await store.close();
    assert.equal(store.stats().failing, false);
    assert.deepEqual((await newStore(dir).load()).get('db'), statusAfter('db', '111'));
  });
});

describe('state store: batching', () => {
  it('writes many updates between two flushes as one write, once per flush interval', async () => {
    const dir = freshDir();
    const clock = new FakeClock();
    const store = newStore(dir, clock);
    await store.load();
    store.start();
    const statuses = Array.from({ length: 1000 }, (_, i) => statusAfter(`svc-${i}`, i % 2 ? '1' : '10'));
    for (const status of statuses) store.update(status);
    for (const status of statuses.slice(0, 100)) store.update({ ...status, consecutiveSuccesses: 99 });

    await clock.advance(FLUSH_MS - 1);
    assert.equal(store.stats().writes, 0, 'nothing is written before the interval');
    await clock.advance(1);
    await store.flush();
    assert.equal(store.stats().writes, 1);
    assert.equal(store.stats().lastFlushAt, clock.now());

    await clock.advance(5 * FLUSH_MS);
    await store.flush();
    assert.equal(store.stats().writes, 1, 'nothing changed, nothing written');

    store.update(statusAfter('svc-1', '11'));
    await clock.advance(FLUSH_MS);
    await store.close();
    assert.equal(store.stats().writes, 2);
    assert.equal(clock.pending, 0, 'close leaves no timer behind');

    const loaded = await newStore(dir).load();
    assert.equal(loaded.size, 1000);
    assert.equal(loaded.get('svc-0')?.consecutiveSuccesses, 99);
    assert.deepEqual(loaded.get('svc-1'), statusAfter('svc-1', '11'));
  });

  it('appends nothing for a status whose saved state did not change, and writes it at close', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    const settled = statusAfter('db', '11');
    store.update(settled);
    await store.flush();
    const size = (await stat(join(dir, STATE_FILE))).size;
    const later = statusAfter('db', '1111');
    store.update(later, false);
    await store.flush();
    assert.equal((await stat(join(dir, STATE_FILE))).size, size, 'a new latency alone is not appended');
    assert.equal(store.stats().writes, 1);

    // A crash now brings back the last saved state; a clean stop, the newest latencies too.
    assert.deepEqual((await newStore(dir).load()).get('db'), settled);
    await store.close();
    assert.deepEqual((await newStore(dir).load()).get('db'), later);
  });

  it('update() does no I/O', async () => {
    const dir = freshDir();
    const store = newStore(dir);
    await store.load();
    store.update(statusAfter('db', '1'));
    await assert.rejects(stat(dir), { code: 'ENOENT' });
    await store.close();
    await stat(join(dir, STATE_FILE));
  });
});
