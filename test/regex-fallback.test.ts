import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Target } from '../src/config/schema.js';
import { enableLinearTimeFallback, fallsBackToLinearTime, patternsWithoutFallback } from '../src/regex-fallback.js';
import { configuredTarget } from './fakes/targets.js';

describe('the linear-time fallback for patterns from the config', () => {
  it('uses flags this Node\'s V8 knows: setting them prints nothing', async () => {
    // An unknown flag is not an exception: V8 writes "unrecognized flag" to stderr and goes on.
    const script = "const { enableLinearTimeFallback } = await import('./src/regex-fallback.ts'); enableLinearTimeFallback();";
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    assert.equal(stdout + stderr, '');
  });

  it('names, by target and field, only the patterns that cannot fall back', () => {
    enableLinearTimeFallback();
    const targets: Target[] = [
      configuredTarget({ name: 'api', type: 'http', url: 'http://127.0.0.1:1/', expect: { bodyRegex: '"status":\\s*"(ok|up)"', bodyNotRegex: '^(?!.*ready)', headers: { 'X-Id': '[0-9a-f]{40}', 'content-type': 'json' } } }),
      configuredTarget({ name: 'ssh', type: 'tcp', host: '127.0.0.1', port: 22, expect: { replyRegex: '^SSH-2\\.0-' } }),
      configuredTarget({ name: 'echo', type: 'tcp', host: '127.0.0.1', port: 7, send: 'x', expect: { replyRegex: '^(\\w)\\1' } }),
      configuredTarget({ name: 'plain', type: 'http', url: 'http://127.0.0.1:1/' }),
    ];
    assert.deepEqual(patternsWithoutFallback(targets), [
      { target: 'api', field: 'expect.bodyNotRegex', pattern: '^(?!.*ready)' },
      { target: 'api', field: 'expect.headers.X-Id', pattern: '[0-9a-f]{40}' },
      { target: 'echo', field: 'expect.replyRegex', pattern: '^(\\w)\\1' },
    ]);
    assert.equal(fallsBackToLinearTime('(a+)+$'), true);
  });
});
