import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { UserGroupCache } from '../../src/slack/user-groups.js';
import { FakeClock } from '../fakes/clock.js';

function cacheWith(answers: Record<string, string[] | Error>) {
  const clock = new FakeClock();
  const calls: string[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const cache = new UserGroupCache({
    clock,
    logger: silentLogger(),
    ttlMs: 60_000,
    staleForMs: 600_000,
    list: async (id) => {
      calls.push(id);
      if (hold) await new Promise<void>((resolve) => { release = resolve; });
      const answer = answers[id];
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error('no_such_subteam');
      return answer;
    },
  });
  return { cache, clock, calls, answers, holdNext: () => { hold = true; }, release: () => { hold = false; release?.(); } };
}

describe('user group members', () => {
  test('are asked once per TTL, then again', async () => {
    const { cache, clock, calls } = cacheWith({ S1: ['U1'] });
    assert.deepEqual([...(await cache.members(['S1'])).get('S1')!], ['U1']);
    await clock.advance(59_000);
    await cache.members(['S1']);
    assert.deepEqual(calls, ['S1']);
    await clock.advance(2_000);
    await cache.members(['S1']);
    assert.deepEqual(calls, ['S1', 'S1']);
  });

  test('a burst of commands waits for one look-up', async () => {
    const world = cacheWith({ S1: ['U1'] });
    world.holdNext();
    const burst = Array.from({ length: 50 }, () => world.cache.members(['S1']));
    await new Promise((resolve) => setImmediate(resolve));
    world.release();
    const answers = await Promise.all(burst);
    assert.deepEqual(world.calls, ['S1']);
    assert.ok(answers.every((answer) => answer.get('S1')?.has('U1')));
  });

  test('when Slack cannot answer, the last members serve for a while, then access fails closed', async () => {
    const { cache, clock, answers } = cacheWith({ S1: ['U1'] });
    await cache.members(['S1']);
    answers.S1 = new Error('invalid_auth');
    await clock.advance(120_000);
    assert.ok((await cache.members(['S1'])).get('S1')?.has('U1'), 'stale answer within staleFor');
    await clock.advance(600_000);
    assert.equal((await cache.members(['S1'])).get('S1'), undefined, 'unknown after staleFor');
  });

  test('a group never listed is unknown', async () => {
    const { cache } = cacheWith({});
    assert.equal((await cache.members(['S9'])).get('S9'), undefined);
  });
});
