import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler, phaseOffset } from '../../src/scheduler/index.js';
import { fnv1a32, mix32 } from '../../src/scheduler/phase.js';
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
  assert.equal(fnv1a32(''), 0x811c9dc5); // FNV-1a offset basis
  assert.equal(fnv1a32('a'), 0xe40c292c); // published FNV-1a 32 test vector
  assert.equal(mix32(1), 0x514e28b7); // murmur3 fmix32
  assert.equal(phaseOffset('', 4_294_967_296), mix32(0x811c9dc5));
  assert.equal(phaseOffset('api.example.com', 10_000), 9051);
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

/**
 * The strongest periodic pattern in a set of phases: the largest Fourier magnitude of their
 * spread over the interval (1,000 bins), in units of what random phases give. For random phases
 * each magnitude is about 1 and the largest of the 499 about 2.5.
 */
function strongestPeriod(phases: number[], intervalMs: number): { periodMs: number; strength: number } {
  const bins = 1000;
  const counts = new Float64Array(bins);
  for (const phase of phases) counts[Math.floor((phase * bins) / intervalMs)]!++;
  const mean = phases.length / bins;
  let strongest = { periodMs: 0, strength: 0 };
  for (let frequency = 1; frequency < bins / 2; frequency++) {
    let re = 0;
    let im = 0;
    for (let bin = 0; bin < bins; bin++) {
      const angle = (2 * Math.PI * frequency * bin) / bins;
      re += (counts[bin]! - mean) * Math.cos(angle);
      im += (counts[bin]! - mean) * Math.sin(angle);
    }
    const strength = Math.hypot(re, im) / Math.sqrt(phases.length);
    if (strength > strongest.strength) strongest = { periodMs: intervalMs / frequency, strength };
  }
  return strongest;
}

test('sequentially named targets start evenly, without periodic clumps', () => {
  const numbered = (prefix: string, count: number, digits: number) => Array.from({ length: count }, (_, i) => prefix + String(i).padStart(digits, '0'));
  const fleets = [numbered('web-', 1000, 3), numbered('svc-', 10_000, 5), numbered('blackholed-', 2000, 5), numbered('host-', 300, 0)];
  for (const names of fleets) {
    const { periodMs, strength } = strongestPeriod(names.map((name) => phaseOffset(name, INTERVAL)), INTERVAL);
    // FNV-1a alone gave 5 to 8 here: 2,000 names started a third above average every ~0.5 s.
    assert.ok(strength < 4, `${names[0]}…: starts repeat every ${periodMs.toFixed(0)} ms, ${strength.toFixed(1)}× what random phases give`);
  }
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
