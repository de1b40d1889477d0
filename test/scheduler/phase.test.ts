import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler, phaseOffset } from '../../src/scheduler/index.js';
import { FakeClock } from '../fakes/clock.js';

const INTERVAL = 10_000;

async function firstRunTimes(clock: FakeClock, names: string[]): Promise<Map<string, number>> {
  const started = new Map<string, number>();
  const scheduler = new Scheduler({ clock, maxConcurrent: Infinity });
  for (const name of names) {
    scheduler.add({
      name,
      intervalMs: INTERVAL,
      timeoutMs: 1000,
      run: async () => {
        if (!started.has(name)) started.set(name, clock.now());
      },
    });
  }
  await clock.advance(INTERVAL);
  await scheduler.stop();
  return started;
}

test('a target keeps its phase across a restart', async () => {
  const names = ['api.example.com', 'db-1', 'db-2'];
  const before = await firstRunTimes(new FakeClock(Date.UTC(2026, 0, 1, 8, 0, 0, 0)), names);
  const after = await firstRunTimes(new FakeClock(Date.UTC(2026, 0, 3, 17, 42, 13, 377)), names);
  for (const name of names) {
    assert.equal(before.get(name)! % INTERVAL, after.get(name)! % INTERVAL, name);
  }
});

test('the phase hash is pinned, so an upgrade does not move every target', () => {
  assert.equal(phaseOffset('', 4_294_967_296), 0x811c9dc5); // FNV-1a offset basis
  assert.equal(phaseOffset('a', 4_294_967_296), 0xe40c292c); // published FNV-1a 32 test vector
  assert.equal(phaseOffset('api.example.com', 10_000), 5540);
});

test('1,000 targets spread over the interval instead of firing together', async () => {
  const names = Array.from({ length: 1000 }, (_, i) => `target-${i}`);
  const clock = new FakeClock();
  const started = await firstRunTimes(clock, names);
  assert.equal(started.size, 1000);
  const buckets = new Array<number>(INTERVAL / 100).fill(0);
  for (const at of started.values()) buckets[Math.floor((at % INTERVAL) / 100)]!++;
  // 10 per 100 ms bucket on average; no bucket holds more than 3% of all targets.
  assert.ok(Math.max(...buckets) <= 30, `busiest 100 ms holds ${Math.max(...buckets)} of 1000`);
  assert.ok(buckets.filter((count) => count === 0).length <= 2, 'gaps in the spread');
});

test('the first run lands on the next grid point after adding', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
  const added = clock.now();
  const runs: { scheduledAt: number; startedAt: number }[] = [];
  const scheduler = new Scheduler({ clock, maxConcurrent: 10 });
  scheduler.add({ name: 'web', intervalMs: INTERVAL, timeoutMs: 1000, run: async (_signal, scheduledAt) => void runs.push({ scheduledAt, startedAt: clock.now() }) });
  await clock.advance(INTERVAL);
  await scheduler.stop();
  assert.equal(runs.length, 1);
  const { scheduledAt, startedAt } = runs[0]!;
  assert.equal(scheduledAt % INTERVAL, phaseOffset('web', INTERVAL));
  assert.ok(scheduledAt > added && scheduledAt <= added + INTERVAL);
  assert.equal(startedAt, scheduledAt);
});

test('a phase step makes jobs start in shared slots, still stable per name', () => {
  const names = Array.from({ length: 200 }, (_, i) => `gw-${i}`);
  const slots = new Set(names.map((name) => phaseOffset(name, 10_000, 1_000)));
  assert.ok(slots.size <= 10, `200 jobs with a 1 s step over 10 s use at most 10 start slots, got ${slots.size}`);
  for (const name of names) {
    const phase = phaseOffset(name, 10_000, 1_000);
    assert.equal(phase % 1_000, 0);
    assert.equal(phase, phaseOffset(name, 10_000) - (phaseOffset(name, 10_000) % 1_000));
  }
});
