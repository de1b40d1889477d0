import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../src/heap.js';

describe('heap growth of the running bot', () => {
  it('asks V8 to grow the old generation by at most 1.5× between full collections', () => {
    const set: string[] = [];
    assert.equal(limitHeapGrowth([], (flags) => set.push(flags)), true);
    assert.deepEqual(set, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it('leaves an operator\'s own choice alone, in either spelling', () => {
    for (const argv of [['--heap-growing-percent=200'], ['--heap_growing_percent=10'], ['--heap-growing-percent', '80']]) {
      const set: string[] = [];
      assert.equal(limitHeapGrowth(argv, (flags) => set.push(flags)), false);
      assert.deepEqual(set, [], argv.join(' '));
    }
  });

  it('is a flag this Node\'s V8 knows: setting it prints nothing', async () => {
    // An unknown flag is not an exception: V8 writes "unrecognized flag" to stderr and goes on.
    const script = "const { limitHeapGrowth } = await import('./src/heap.ts'); limitHeapGrowth([]);";
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    assert.equal(stdout + stderr, '');
  });
});
