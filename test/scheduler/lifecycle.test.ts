import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { Scheduler } from '../../src/scheduler/index.js';
import { FakeClock } from '../fakes/clock.js';
import { firstTick, namesWithSamePhase, sleep, untilAborted } from './helpers.js';

function isAbortNotTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === 'AbortError';
}

test('remove() aborts the in-flight run, resolves once it settled, and nothing runs after', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  const reasons: unknown[] = [];
  let settled = false;
  let runs = 0;
  scheduler.add({
    name: 'db',
    intervalMs: 1000,
    timeoutMs: 60_000,
    run: async (signal) => {
      runs++;
      await untilAborted(signal);
      reasons.push(signal.reason);
      await Promise.resolve();
      settled = true;
    },
  });
  await clock.advance(1000);
  assert.equal(runs, 1);
  await scheduler.remove('db');
  assert.equal(settled, true);
  assert.equal(reasons.length, 1);
  assert.ok(isAbortNotTimeout(reasons[0]), String(reasons[0]));
  assert.equal(scheduler.has('db'), false);
  assert.equal(clock.pending, 0);
  await clock.advance(10_000);
  assert.equal(runs, 1);
  assert.deepEqual({ running: scheduler.stats().running, jobs: scheduler.stats().jobs }, { running: 0, jobs: 0 });
});

test('a job removed while it waits for a slot never starts', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 1 });
  const [first, second] = namesWithSamePhase(2, 10_000);
  const started: string[] = [];
  for (const name of [first!, second!]) {
    scheduler.add({ name, intervalMs: 10_000, timeoutMs: 8000, run: (signal) => (started.push(name), sleep(clock, 5000, signal)) });
  }
  await clock.advance(firstTick(clock, first!, 10_000) - clock.now());
  assert.deepEqual(started, [first]);
  assert.equal(scheduler.stats().queued, 1);
  await scheduler.remove(second!);
  assert.equal(scheduler.stats().queued, 0);
  await clock.advance(20_000);
  assert.ok(!started.includes(second!));
  await scheduler.stop();
});

test('stop() aborts in-flight runs and leaves no timer and no run behind', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 3 });
  const reasons: unknown[] = [];
  let runs = 0;
  for (let i = 0; i < 10; i++) {
    scheduler.add({
      name: `target-${i}`,
      intervalMs: 1000,
      timeoutMs: 30_000,
      run: async (signal) => {
        runs++;
        await untilAborted(signal);
        reasons.push(signal.reason);
      },
    });
  }
  await clock.advance(1000);
  assert.equal(scheduler.stats().running, 3);
  assert.equal(scheduler.stats().queued, 7);
  await scheduler.stop();
  assert.equal(clock.pending, 0);
  assert.deepEqual(scheduler.stats(), { jobs: 0, running: 0, queued: 0, skippedOverrun: 0, skippedConcurrency: 0, stuck: 0, lastLagMs: 0 });
  assert.equal(reasons.length, 3);
  assert.ok(reasons.every(isAbortNotTimeout));
  await clock.advance(5000);
  assert.equal(runs, 3);
  assert.throws(() => scheduler.add({ name: 'late', intervalMs: 1000, timeoutMs: 100, run: async () => undefined }), /stopped/);
});

test('stop(grace) lets a run finish within the grace and aborts the one that does not', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  const [quick, slow] = namesWithSamePhase(2, 1000);
  const start = firstTick(clock, quick!, 1000);
  const outcome = new Map<string, string>();
  for (const [name, ms] of [[quick!, 300], [slow!, 5000]] as const) {
    scheduler.add({
      name,
      intervalMs: 1000,
      timeoutMs: 10_000,
      run: async (signal) => {
        await sleep(clock, ms, signal);
        outcome.set(name, `${signal.aborted ? 'aborted' : 'finished'} at ${clock.now() - start}`);
      },
    });
  }
  await clock.advance(start - clock.now());
  let stopped = false;
  const stopping = scheduler.stop(1000).then(() => (stopped = true));
  await clock.advance(999);
  assert.equal(stopped, false);
  await clock.advance(1);
  await stopping;
  assert.deepEqual(Object.fromEntries(outcome), { [quick!]: 'finished at 300', [slow!]: 'aborted at 1000' });
  assert.equal(clock.pending, 0);
});

test('a cron schedule runs on its calendar with the same deadline rules, and stops cleanly', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 2, 500));
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  const runs: { scheduledAt: number; startedAt: number; reason: unknown }[] = [];
  scheduler.add({
    name: 'nightly',
    intervalMs: 1000, // ignored: schedule wins
    schedule: '*/5 * * * * *',
    timeoutMs: 7000,
    run: async (signal, scheduledAt) => {
      const startedAt = clock.now();
      await sleep(clock, 8000, signal); // longer than the deadline and the period
      runs.push({ scheduledAt, startedAt, reason: signal.reason });
    },
  });
  await clock.advance(20_000);
  await scheduler.stop();
  const base = Date.UTC(2026, 0, 1, 0, 0, 0);
  // Ticks every 5 s at :05 :10 :15 :20; each run hits its 7 s deadline, so :10 and :20 are skipped.
  assert.deepEqual(runs.map((r) => (r.scheduledAt - base) / 1000), [5, 15]);
  assert.deepEqual(runs.map((r) => r.startedAt), runs.map((r) => r.scheduledAt));
  assert.ok(runs.every((r) => r.reason instanceof DOMException && r.reason.name === 'TimeoutError'));
  assert.equal(scheduler.stats().skippedOverrun, 2);
  assert.equal(clock.pending, 0);
});

test('a run never gets an aborted signal or one an earlier run left a listener on; a clean run hands its signal on', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  const seen: { signal: AbortSignal; abortedAtStart: boolean }[] = [];
  let staleListenerFired = false;
  const plans: ((signal: AbortSignal) => Promise<void>)[] = [
    // 1: finishes at once and takes its listener off, as every probe does.
    async (signal) => {
      const onAbort = (): void => {};
      signal.addEventListener('abort', onAbort);
      signal.removeEventListener('abort', onAbort);
    },
    // 2: hangs until its deadline aborts it.
    (signal) => untilAborted(signal),
    // 3: finishes but leaves a listener behind.
    async (signal) => signal.addEventListener('abort', () => { staleListenerFired = true; }),
    // 4: hangs until its deadline.
    (signal) => untilAborted(signal),
  ];
  scheduler.add({
    name: 'db',
    intervalMs: 1000,
    timeoutMs: 500,
    run: (signal) => {
      seen.push({ signal, abortedAtStart: signal.aborted });
      return plans[seen.length - 1]?.(signal) ?? Promise.resolve();
    },
  });
  await clock.advance(firstTick(clock, 'db', 1000) - clock.now() + 3 * 1000 + 600);
  await scheduler.stop();
  assert.equal(seen.length, 4);
  assert.deepEqual(seen.map((run) => run.abortedAtStart), [false, false, false, false]);
  // A clean run's signal is handed on; the timed-out one's and the one with a listener are not.
  assert.equal(seen[1]!.signal, seen[0]!.signal);
  assert.notEqual(seen[2]!.signal, seen[1]!.signal);
  assert.notEqual(seen[3]!.signal, seen[2]!.signal);
  assert.equal((seen[3]!.signal.reason as DOMException).name, 'TimeoutError');
  assert.equal(staleListenerFired, false, "run 4's deadline reached run 3's listener");
});

test('a yearly cron job waits past the longest setTimeout delay and fires once, on time', async () => {
  const clock = new FakeClock(new Date(2026, 0, 1, 1, 0, 0).getTime());
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  const runs: number[] = [];
  scheduler.add({ name: 'yearly', intervalMs: 1000, schedule: '0 0 0 1 1 *', timeoutMs: 1000, run: async () => void runs.push(clock.now()) });
  await clock.advance(366 * 24 * 3600 * 1000);
  await scheduler.stop();
  assert.deepEqual(runs, [new Date(2027, 0, 1, 0, 0, 0).getTime()]);
});

test('a cron schedule runs in the local time zone that TZ names', async () => {
  const saved = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    const clock = new FakeClock(Date.UTC(2026, 10, 26, 0, 0, 0));
    const scheduler = new Scheduler({ clock, maxConcurrent: 1 });
    const runs: string[] = [];
    scheduler.add({ name: 'morning', intervalMs: 1000, schedule: '0 0 9 * * *', timeoutMs: 1000, run: async () => void runs.push(new Date(clock.now()).toISOString()) });
    await clock.advance(24 * 3600 * 1000);
    await scheduler.stop();
    // 09:00 in New York in November (EST, UTC-5).
    assert.deepEqual(runs, ['2026-11-26T14:00:00.000Z']);
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

test('a cron schedule with its own time zone runs in that zone, whatever TZ says', async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 25, 20, 0, 0));
  const scheduler = new Scheduler({ clock, maxConcurrent: 2 });
  const runs: string[] = [];
  const job = (name: string, timezone: string) => ({ name, intervalMs: 1000, schedule: '0 0 9 * * *', timezone, timeoutMs: 1000, run: async () => void runs.push(`${name} ${new Date(clock.now()).toISOString()}`) });
  scheduler.add(job('tokyo', 'Asia/Tokyo'));
  scheduler.add(job('new-york', 'America/New_York'));
  await clock.advance(24 * 3600 * 1000);
  await scheduler.stop();
  // 09:00 in Tokyo (UTC+9) and in New York in November (EST, UTC-5): one calendar each.
  assert.deepEqual(runs, ['tokyo 2026-11-26T00:00:00.000Z', 'new-york 2026-11-26T14:00:00.000Z']);
});

test('an invalid cron schedule is refused with a one-line reason', () => {
  const scheduler = new Scheduler({ clock: new FakeClock(), maxConcurrent: 1 });
  assert.throws(
    () => scheduler.add({ name: 'db', intervalMs: 1000, schedule: '0/10 * * * *', timeoutMs: 100, run: async () => undefined }),
    (error: Error) => /^"db": invalid schedule "0\/10 \* \* \* \*": .*numeric prefix/.test(error.message) && !error.message.includes('\n'),
  );
  assert.equal(scheduler.has('db'), false);
});

test('with the system clock, stop() leaves no timer keeping the process alive', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const baseline = timers();
  const scheduler = new Scheduler({ clock: systemClock, maxConcurrent: 10 });
  const runs = new Map<string, number>();
  for (const name of ['a', 'b', 'c']) {
    scheduler.add({
      name,
      intervalMs: 20,
      timeoutMs: 1000,
      run: async (signal) => {
        runs.set(name, (runs.get(name) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5, signal)); // finishes before its deadline
      },
    });
  }
  scheduler.add({ name: 'cron', intervalMs: 1000, schedule: '* * * * * *', timeoutMs: 1000, run: async () => undefined });
  scheduler.add({ name: 'hangs', intervalMs: 20, timeoutMs: 60_000, run: (signal) => untilAborted(signal) });
  for (let waited = 0; waited < 1000 && Math.min(...['a', 'b', 'c'].map((n) => runs.get(n) ?? 0)) < 2; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(timers() > baseline);
  await scheduler.stop();
  assert.ok(Math.min(...['a', 'b', 'c'].map((n) => runs.get(n) ?? 0)) >= 2, 'jobs did not run twice within 1 s');
  assert.equal(timers(), baseline);
});
