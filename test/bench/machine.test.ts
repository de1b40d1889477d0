import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { busyShare, kernelThreadsBetween, parseKernelThreadStat, parseProcStat } from '../../bench/harness/machine.js';

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

describe("bench: the kernel's own threads' CPU during a window", () => {
  test('reads kernel threads (kthreadd and its children) by kind, and nothing else', () => {
    assert.deepEqual(parseKernelThreadStat('77 (kdamond.0) S 2 0 0 0 -1 2129984 0 0 0 0 1500 2700 0 0 20 0 1 0 100 0 0'), { kind: 'kdamond', ticks: 4200 });
    assert.deepEqual(parseKernelThreadStat('14 (ksoftirqd/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 3 0 0 20 0 1 0 4 0 0'), { kind: 'ksoftirqd', ticks: 3 });
    assert.deepEqual(parseKernelThreadStat('2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 4 0 0'), { kind: 'kthreadd', ticks: 1 });
    // A process whose name holds ") S 2 " is still read from the last ")": not a kernel thread.
    assert.equal(parseKernelThreadStat('900 (node) S 2 (x) S 1 900 900 0 -1 4194560 0 0 0 0 700 300 0 0 20 0 11 0 5 0 0'), undefined);
    assert.equal(parseKernelThreadStat('901 (node) S 1 901 901 0 -1 4194560 0 0 0 0 700 300 0 0 20 0 11 0 5 0 0'), undefined);
    assert.equal(parseKernelThreadStat('garbage'), undefined);
  });

  test('reports cores used between two readings, busiest kinds first, new kinds counted from zero', () => {
    const before = new Map([['kdamond', 1000], ['kworker', 500], ['ksoftirqd', 10]]);
    const after = new Map([['kdamond', 1300], ['kworker', 530], ['ksoftirqd', 10], ['kswapd', 60]]);
    // 60 s at 100 ticks a second: kdamond 300 ticks = 3 s = 0.05 core.
    const used = kernelThreadsBetween(before, after, 60, 100);
    assert.deepEqual(used.busiest.map(({ kind }) => kind), ['kdamond', 'kswapd', 'kworker']);
    assert.ok(Math.abs(used.busiest[0]!.cores - 0.05) < 1e-9);
    assert.ok(Math.abs(used.cores - 390 / 100 / 60) < 1e-9);
  });
});
