import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { busyShare, parseProcStat } from '../../bench/harness/machine.js';

describe('bench: how busy the machine is before a scenario starts', () => {
  // Two readings of /proc/stat one second apart on a 2-core machine (100 jiffies a second a core).
  const before = 'cpu  1000 10 500 80000 200 0 20 0 0 0\ncpu0 500 5 250 40000 100 0 10 0 0 0\nintr 1 2 3\n';
  const quiet = 'cpu  1005 10 503 80190 202 0 20 0 0 0\ncpu0 502 5 251 40095 101 0 10 0 0 0\nintr 1 2 3\n';
  const busy = 'cpu  1090 10 540 80070 200 0 20 0 0 0\ncpu0 545 5 270 40035 100 0 10 0 0 0\nintr 1 2 3\n';

  test('counts idle and I/O wait as not busy, everything else (steal too) as busy', () => {
    assert.deepEqual(parseProcStat(before), { total: 81730, idle: 80200 });
    const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
    close(busyShare(parseProcStat(before)!, parseProcStat(quiet)!), 8 / 200);
    close(busyShare(parseProcStat(before)!, parseProcStat(busy)!), 130 / 200);
  });

  test('a reading it cannot make sense of gives no figure rather than a wrong one', () => {
    assert.equal(parseProcStat(''), undefined);
    assert.equal(parseProcStat('cpu  1 2 x 4 5'), undefined);
    const same = parseProcStat(before)!;
    assert.equal(busyShare(same, same), 0);
  });
});
