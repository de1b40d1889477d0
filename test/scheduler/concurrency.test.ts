import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from '../../src/scheduler/index.js';
import { FakeClock } from '../fakes/clock.js';
import { ConcurrencyMeter, namesWithSamePhase, sleep } from './helpers.js';

test('with a cap of 2, five jobs due at once run two at a time, each once', async () => {
  const clock = new FakeClock();
  const meter = new ConcurrencyMeter();
  const runs = new Map<string, number>();
  const lags: number[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 2, onLag: (lag) => lags.push(lag) });
  for (const name of namesWithSamePhase(5, 10_000)) {
    scheduler.add({
      name,
      intervalMs: 10_000,
      timeoutMs: 1000,
      run: async (signal) => {
        meter.enter();
        runs.set(name, (runs.get(name) ?? 0) + 1);
        await sleep(clock, 500, signal);
        meter.leave();
      },
    });
  }
  await clock.advance(10_000);
  await scheduler.stop();
  assert.equal(meter.highest, 2);
  assert.deepEqual([...runs.values()], [1, 1, 1, 1, 1]);
  // Lag counts the wait for a slot; the deadline does not (none of the 500 ms runs timed out).
  assert.deepEqual(lags, [0, 0, 500, 500, 1000]);
});

test('a run waiting for a slot is not queued again by its next tick', async () => {
  const clock = new FakeClock();
  const skips: string[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 1, onSkip: (reason, job) => skips.push(`${reason} ${job}`) });
  const [slowName, quickName] = namesWithSamePhase(2, 1000);
  scheduler.add({ name: slowName!, intervalMs: 60_000, timeoutMs: 5000, run: (signal) => sleep(clock, 3500, signal) });
  const quickRuns: number[] = [];
  scheduler.add({ name: quickName!, intervalMs: 1000, timeoutMs: 500, run: async (_signal, at) => void quickRuns.push(at) });

  // slow holds the only slot for 3.5 s; quick's first tick waits, its next three are skipped.
  await clock.advance(60_000);
  const { queued, skippedConcurrency } = scheduler.stats();
  await scheduler.stop();
  assert.equal(skippedConcurrency, 3);
  assert.deepEqual(skips, Array(3).fill(`concurrency ${quickName}`));
  assert.equal(queued, 0);
  assert.equal(new Set(quickRuns).size, quickRuns.length, 'a tick ran twice');
});

test('a saturated scheduler stays within its cap, keeps its queue bounded and serves every job', async () => {
  const clock = new FakeClock();
  const meter = new ConcurrencyMeter();
  const runs = new Map<string, number>();
  let longestQueue = 0;
  const scheduler = new Scheduler({ clock, maxConcurrent: 2 });
  // Demand: 20 runs/s of 200 ms each; capacity with 2 slots: 10 runs/s.
  for (let i = 0; i < 20; i++) {
    const name = `target-${i}`;
    scheduler.add({
      name,
      intervalMs: 1000,
      timeoutMs: 1000,
      run: async (signal) => {
        meter.enter();
        runs.set(name, (runs.get(name) ?? 0) + 1);
        longestQueue = Math.max(longestQueue, scheduler.stats().queued);
        await sleep(clock, 200, signal);
        meter.leave();
      },
    });
  }
  await clock.advance(30_000);
  const stats = scheduler.stats();
  await scheduler.stop();
  assert.equal(meter.highest, 2);
  assert.ok(longestQueue <= 20, `queue grew to ${longestQueue}`);
  const counts = [...runs.values()];
  assert.equal(counts.length, 20);
  const total = counts.reduce((sum, n) => sum + n, 0);
  assert.ok(total >= 290 && total <= 300, `${total} runs in 30 s at 10 runs/s`);
  assert.ok(Math.min(...counts) >= 10, `starved job: ${Math.min(...counts)} runs`);
  assert.ok(stats.skippedConcurrency > 0);
});

test('a run that ignores its abort gives its slot back after the grace, but still blocks its own job', async () => {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ clock, maxConcurrent: 1, abortGraceMs: 200 });
  const [stuckName, otherName] = namesWithSamePhase(2, 1000);
  let stuckRuns = 0;
  scheduler.add({ name: stuckName!, intervalMs: 1000, timeoutMs: 300, run: () => (stuckRuns++, new Promise(() => undefined)) });
  const otherRuns: number[] = [];
  scheduler.add({ name: otherName!, intervalMs: 1000, timeoutMs: 300, run: async () => void otherRuns.push(clock.now()) });
  await clock.advance(5000);
  const stats = scheduler.stats();
  assert.equal(stuckRuns, 1);
  assert.equal(stats.stuck, 1);
  assert.ok(otherRuns.length >= 4, `other job ran ${otherRuns.length} times`);
  await scheduler.stop(); // resolves: a stuck run holds no slot
  assert.equal(clock.pending, 0);
});
