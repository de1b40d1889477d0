import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { Scheduler, phaseOffset } from '../../src/scheduler/index.js';
import { FakeClock } from '../fakes/clock.js';
import { ConcurrencyMeter, firstTick, sleep, untilAborted } from './helpers.js';

test('ticks stay exactly on the grid over 100 runs of varying length', async () => {
  const clock = new FakeClock();
  const starts: number[] = [];
  const scheduled: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({
    name: 'web',
    intervalMs: 1000,
    timeoutMs: 5000,
    run: async (signal, scheduledAt) => {
      scheduled.push(scheduledAt);
      starts.push(clock.now());
      await sleep(clock, (starts.length * 37) % 900, signal); // 0 to 899 ms
    },
  });
  await clock.advance(100_000);
  await scheduler.stop();
  const first = firstTick(new FakeClock(), 'web', 1000);
  assert.equal(starts.length, 100);
  assert.deepEqual(starts, Array.from({ length: 100 }, (_, k) => first + k * 1000));
  assert.deepEqual(scheduled, starts);
});

test('a hung run does not delay another job, and is aborted at its deadline', async () => {
  const clock = new FakeClock();
  const skips: string[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10, onSkip: (reason, job) => skips.push(`${reason} ${job}`) });
  const hung: { startedAt: number; abortedAt: number; reason: unknown }[] = [];
  scheduler.add({
    name: 'hangs',
    intervalMs: 1000,
    timeoutMs: 2500,
    run: async (signal) => {
      const startedAt = clock.now();
      await untilAborted(signal);
      hung.push({ startedAt, abortedAt: clock.now(), reason: signal.reason });
    },
  });
  const healthy: number[] = [];
  scheduler.add({ name: 'healthy', intervalMs: 1000, timeoutMs: 500, run: async () => void healthy.push(clock.now()) });

  const firstHealthy = firstTick(clock, 'healthy', 1000);
  const firstHung = firstTick(clock, 'hangs', 1000);
  await clock.advance(10_000);
  await scheduler.stop();

  assert.deepEqual(healthy, Array.from({ length: 10 }, (_, k) => firstHealthy + k * 1000));
  // Runs at +0, +3000, +6000 (the ticks while one hangs are skipped), each aborted after 2500 ms.
  assert.deepEqual(hung.slice(0, 3).map((h) => h.startedAt - firstHung), [0, 3000, 6000]);
  for (const { startedAt, abortedAt, reason } of hung.slice(0, 3)) {
    assert.equal(abortedAt - startedAt, 2500);
    assert.ok(reason instanceof DOMException && reason.name === 'TimeoutError', String(reason));
    assert.match(reason.message, /timeout after 2500ms/);
  }
  assert.ok(skips.length >= 6 && skips.every((s) => s === 'overrun hangs'), skips.join(', '));
});

test('a run asking for an earlier retry gets it, then the job returns to its grid', async () => {
  const clock = new FakeClock();
  const starts: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({
    name: 'db',
    intervalMs: 10_000,
    timeoutMs: 1000,
    run: async (signal) => {
      starts.push(clock.now());
      await sleep(clock, 100, signal);
      // Failing below threshold for the first three runs; the fourth asks for more than the grid gives.
      if (starts.length <= 3) return { nextRunInMs: 2000 };
      if (starts.length === 4) return { nextRunInMs: 60_000 };
      return undefined;
    },
  });
  const first = firstTick(clock, 'db', 10_000);
  await clock.advance(40_000);
  await scheduler.stop();
  assert.deepEqual(
    starts.map((at) => at - first),
    [0, 2100, 4200, 6300, 10_000, 20_000, 30_000],
  );
});

test('a run longer than its interval is never started twice', async () => {
  const clock = new FakeClock();
  const meter = new ConcurrencyMeter();
  const starts: number[] = [];
  const skips: string[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10, onSkip: (reason) => skips.push(reason) });
  scheduler.add({
    name: 'slow',
    intervalMs: 1000,
    timeoutMs: 10_000,
    run: async (signal) => {
      meter.enter();
      starts.push(clock.now());
      await sleep(clock, 2500, signal);
      meter.leave();
    },
  });
  const first = firstTick(clock, 'slow', 1000);
  await clock.advance(10_000);
  assert.equal(meter.highest, 1);
  assert.deepEqual(starts.map((at) => at - first), [0, 3000, 6000, 9000]);
  assert.equal(scheduler.stats().skippedOverrun, 6);
  assert.deepEqual(new Set(skips), new Set(['overrun']));
  await scheduler.stop();
});

test('a finished run leaves no deadline timer behind', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 100 });
  for (let i = 0; i < 50; i++) scheduler.add({ name: `t${i}`, intervalMs: 1000, timeoutMs: 30_000, run: async () => undefined });
  await clock.advance(5000);
  assert.equal(clock.pending, 50); // one tick timer per job, nothing else
  await scheduler.stop();
});

/** System-clock behaviour: timers run on a monotonic clock, now() is wall time that can step or run ahead. */
class SkewedClock extends FakeClock {
  skewMs = 0;
  override now(): number {
    return super.now() + this.skewMs;
  }
}

test('a timer firing a little early does not run its tick twice', async () => {
  const clock = new SkewedClock();
  const scheduled: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({ name: 'web', intervalMs: 1000, timeoutMs: 500, run: async (_signal, at) => void scheduled.push(at) });
  clock.skewMs = -2; // the timer wakes 2 ms before the wall clock reaches the tick
  await clock.advance(5000);
  await scheduler.stop();
  const first = firstTick(new FakeClock(), 'web', 1000);
  assert.deepEqual(scheduled, [first, first + 1000, first + 2000, first + 3000, first + 4000]);
});

/** Node's behaviour after a busy moment: a timer set then is dated from the loop's stale time and fires early by the wall clock. */
class EarlyTimersClock extends FakeClock {
  constructor(private readonly earlyMs: number) {
    super();
  }
  override setTimeout(callback: () => void, ms: number) {
    // A timer set for less than the lateness fires on time: by then the loop's time is fresh.
    return super.setTimeout(callback, ms > this.earlyMs ? ms - this.earlyMs : ms);
  }
}

test('a tick whose timer fires early still starts its probe on time', async () => {
  const clock = new EarlyTimersClock(5);
  const runs: Array<{ startedAt: number; scheduledAt: number }> = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({ name: 'web', intervalMs: 1000, timeoutMs: 500, run: async (_signal, scheduledAt) => void runs.push({ startedAt: clock.now(), scheduledAt }) });
  await clock.advance(5000);
  await scheduler.stop();
  assert.ok(runs.length >= 4, `${runs.length} runs in 5 s`);
  for (const { startedAt, scheduledAt } of runs) assert.equal(startedAt, scheduledAt);
});

test('a deadline timer that fires early does not cut the timeout short', async () => {
  const clock = new EarlyTimersClock(5);
  const waited: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({
    name: 'blackholed',
    intervalMs: 10_000,
    timeoutMs: 3000,
    run: (signal) => {
      const startedAt = clock.now();
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(void waited.push(clock.now() - startedAt))));
    },
  });
  await clock.advance(25_000);
  await scheduler.stop();
  assert.ok(waited.length >= 2, `${waited.length} runs in 25 s`);
  assert.deepEqual(new Set(waited), new Set([3000]));
});

test('after the wall clock steps back an hour, runs go on at the interval', async () => {
  const clock = new SkewedClock();
  const starts: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({ name: 'web', intervalMs: 1000, timeoutMs: 500, run: async () => void starts.push(clock.now()) });
  await clock.advance(3000);
  const before = starts.length;
  clock.skewMs = -3_600_000;
  await clock.advance(3000);
  await scheduler.stop();
  assert.ok(starts.length - before >= 2, `${starts.length - before} runs in 3 s after the step`);
  for (const at of starts.slice(before)) assert.equal(at % 1000, phaseOffset('web', 1000));
});

test('a run that throws is logged with its target, and the job keeps its rhythm', async () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
  const scheduler = new Scheduler({ clock, maxConcurrent: 1, logger: createLogger({ destination, pretty: false }) });
  const starts: number[] = [];
  scheduler.add({
    name: 'flaky',
    intervalMs: 1000,
    timeoutMs: 500,
    run: (_signal, at) => {
      starts.push(at);
      if (starts.length === 1) throw new Error('thrown synchronously');
      return Promise.reject(new Error('rejected'));
    },
  });
  const first = firstTick(clock, 'flaky', 1000);
  await clock.advance(3000);
  await scheduler.stop();
  assert.deepEqual(starts, [first, first + 1000, first + 2000]);
  const logged = lines.map((line) => JSON.parse(line) as { target: string; err: { message: string } });
  assert.deepEqual(logged.map((entry) => [entry.target, entry.err.message]), [
    ['flaky', 'thrown synchronously'],
    ['flaky', 'rejected'],
    ['flaky', 'rejected'],
  ]);
});
