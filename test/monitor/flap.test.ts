import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFlapping, percentStateChange } from '../../src/monitor/flap.js';

/** "1101" -> [true, true, false, true], oldest first. */
const results = (pattern: string): boolean[] => [...pattern].map((c) => c === '1');
const alternating = (length: number): string => '10'.repeat(length).slice(0, length);

/** Nagios weight of change i (1 = oldest) out of 20 in a 21-result window. */
const weight = (i: number): number => 0.75 + ((i - 1) * 0.5) / 19;

describe('percent state change (Nagios, window 21 = 20 possible changes)', () => {
  const cases: Array<{ name: string; history: string; window?: number; expected: number }> = [
    { name: 'a result that changes every time is 100%', history: alternating(21), expected: 100 },
    { name: 'a result that never changes is 0%', history: '1'.repeat(21), expected: 0 },
    { name: 'one change at the newest end weighs 1.25 of 1/20', history: '1'.repeat(20) + '0', expected: (1.25 / 20) * 100 },
    { name: 'one change at the oldest end weighs 0.75 of 1/20', history: '0' + '1'.repeat(20), expected: (0.75 / 20) * 100 },
    { name: 'a change in the middle weighs in between, linearly', history: '1'.repeat(11) + '0'.repeat(10), expected: (weight(11) / 20) * 100 },
    { name: 'two changes add their weights', history: '1'.repeat(10) + '0' + '1'.repeat(10), expected: ((weight(10) + weight(11)) / 20) * 100 },
    { name: 'only the last `window` results count', history: alternating(30) + '1'.repeat(21), expected: 0 },
    { name: 'a short history counts as the newest end of a full window', history: '10', expected: (1.25 / 20) * 100 },
    { name: 'a short alternating history is far from 100%', history: alternating(6), expected: ([16, 17, 18, 19, 20].reduce((sum, i) => sum + weight(i), 0) / 20) * 100 },
    { name: 'no results is 0%', history: '', expected: 0 },
    { name: 'window 3: both changes weigh 0.75 and 1.25 over 2', history: '101', window: 3, expected: 100 },
    { name: 'window 3: only the newest change', history: '110', window: 3, expected: 62.5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const actual = percentStateChange(results(c.history), c.window ?? 21);
      assert.ok(Math.abs(actual - c.expected) < 1e-6, `expected ${c.expected}, got ${actual}`);
    });
  }

  it('weights rise linearly from 0.75 to 1.25 and average 1', () => {
    const single = (position: number): number => percentStateChange(results('1'.repeat(position) + '0'.repeat(21 - position)), 21);
    assert.equal(single(1), 3.75);
    assert.equal(single(20), 6.25);
    const steps = Array.from({ length: 19 }, (_, i) => single(i + 2) - single(i + 1));
    for (const s of steps) assert.ok(Math.abs(s - steps[0]!) < 1e-5, `uneven step ${s} vs ${steps[0]}`);
    const total = Array.from({ length: 20 }, (_, i) => single(i + 1)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 100) < 1e-4);
  });
});

describe('flapping hysteresis', () => {
  const thresholds = { high: 30, low: 15 };
  const cases: Array<[wasFlapping: boolean, percent: number, expected: boolean]> = [
    [false, 30, true],
    [false, 29.9, false],
    [false, 20, false],
    [true, 20, true],
    [true, 15.1, true],
    [true, 15, false],
    [true, 0, false],
    [false, 100, true],
  ];
  for (const [wasFlapping, percent, expected] of cases) {
    it(`${wasFlapping ? 'flapping' : 'steady'} at ${percent}% -> ${expected ? 'flapping' : 'steady'}`, () => {
      assert.equal(isFlapping(wasFlapping, percent, thresholds), expected);
    });
  }

  it('a history exactly at the high threshold starts flapping despite float rounding', () => {
    // Over window 29 the float sum of the weights is 99.99999999999999% unrounded.
    assert.equal(percentStateChange(results(alternating(29)), 29), 100);
    assert.equal(isFlapping(false, percentStateChange(results(alternating(29)), 29), { high: 100, low: 50 }), true);
  });
});
