/**
 * Scenario 5a: garbage where a config file should be. `check` and `run` both refuse it with
 * exit 2 and short lines naming the file, never a stack trace, and never a megabyte-long line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAllBots, runCli, workspace } from './harness.js';

const space = workspace('config');
after(async () => {
  await killAllBots();
  space.remove();
});

/** Longest line a person should have to read; the file path is part of it. */
const MAX_LINE_CHARS = 400 + space.dir.length;

interface Garbage {
  name: string;
  content: string | Buffer;
  /** What the one line (or each line) says. */
  says: RegExp;
  /** One line exactly, or (for a syntax error with several spots) at least one. */
  lines: 'one' | 'some';
}

const deepNesting = `targets: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`;
const aliasBomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((name, index) => {
  const previous = 'abcdefghi'[index]!;
  return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`;
})].join('\n');

const GARBAGE: Garbage[] = [
  { name: 'malformed.yaml', content: 'targets:\n  - name: db\n   type: tcp\n', says: /malformed\.yaml:3:1: YAML syntax error/, lines: 'one' },
  { name: 'binary.yaml', content: Buffer.concat([Buffer.from('targets:\n\0'), randomBytes(64 * 1024)]), says: /binary\.yaml: is not a text file/, lines: 'one' },
  { name: 'huge.yaml', content: `targets:\n${'  - { name: t, type: tcp, host: 127.0.0.1, port: 80 }\n'.repeat(200_000)}`, says: /huge\.yaml: is larger than 5 MB/, lines: 'one' },
  { name: 'alias-bomb.yaml', content: aliasBomb, says: /alias-bomb\.yaml: YAML error: .*resource exhaustion/, lines: 'one' },
  { name: 'deep.yaml', content: deepNesting, says: /deep\.yaml:\d+:\d+: YAML syntax error/, lines: 'one' },
  { name: 'long-token.yaml', content: `targets: []\n]"${'x'.repeat(1_000_000)}"\n`, says: /long-token\.yaml:2:\d+: YAML syntax error/, lines: 'some' },
  { name: 'long-key.yaml', content: `{"k${'x'.repeat(1_000_000)}": 1, targets: []}\n`, says: /long-key\.yaml:1:2: unknown key "kxxx.*…/, lines: 'one' },
];

for (const garbage of GARBAGE) {
  test(`check and run refuse ${garbage.name} with exit 2 and short lines`, { timeout: 60_000 }, async () => {
    const path = join(space.dir, garbage.name);
    writeFileSync(path, garbage.content);
    const [check, run] = await Promise.all([runCli(['check', '-c', path]), runCli(['run', '-c', path])]);
    for (const [command, result] of [['check', check], ['run', run]] as const) {
      assert.equal(result.code, 2, `${command}: exit code (stderr: ${result.stderr.slice(0, 500)})`);
      assert.equal(result.stdout, '', `${command}: nothing on stdout`);
      assert.doesNotMatch(result.stderr, /\n\s+at |Error:/, `${command}: no stack trace`);
      const lines = result.stderr.trimEnd().split('\n');
      if (garbage.lines === 'one') assert.equal(lines.length, 1, `${command}: one line, got ${lines.length}`);
      for (const line of lines) {
        assert.ok(line.length <= MAX_LINE_CHARS, `${command}: a line of ${line.length} characters: ${line.slice(0, 200)}…`);
        assert.ok(line.startsWith(path), `${command}: the line names the file: ${line.slice(0, 200)}`);
      }
      assert.match(lines[0]!, garbage.says, command);
    }
  });
}

test('check of a 5,000-target config prints every target through a pipe', { timeout: 60_000 }, async () => {
  const names = Array.from({ length: 5_000 }, (_, index) => `target-${String(index).padStart(5, '0')}`);
  const path = join(space.dir, 'many.yaml');
  writeFileSync(path, `targets:\n${names.map((name) => `  - { name: ${name}, type: tcp, host: 127.0.0.1, port: 80 }\n`).join('')}`);
  // runCli reads stdout through a pipe, as `probebot check | grep` does.
  const result = await runCli(['check', '-c', path]);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `${path}: ok, 5000 targets`);
  assert.ok(result.stdout.length > 64 * 1024, 'the output is longer than a pipe buffer');
  assert.match(lines[lines.length - 1]!, /^target-04999\s+tcp\s/, 'the last target is printed');
});
