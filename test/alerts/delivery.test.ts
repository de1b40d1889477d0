import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { DELIVERY_DEADLINE_MS } from '../../src/alerts/notifier-queue.js';
import { readOutbox } from '../../src/alerts/outbox.js';
import { FakeClock } from '../fakes/clock.js';
import { capturingLogger, failing, makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

function config(delivery: Record<string, string> = {}) {
  return makeConfig({
    notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' }, pager: { type: 'pagerduty', routingKey: 'k'.repeat(32) } },
    delivery: { groupWait: '10s', giveUpAfter: '1h', maxBackoff: '5m', ...delivery },
    targets: tcpTargets(['api', 'db', 'web'], { notify: ['hook'] }),
  });
}

/** A started world with a grouping "hook" and a PagerDuty-like "pager". */
async function started(options: { delivery?: Record<string, string>; logger?: ReturnType<typeof capturingLogger>['logger'] } = {}) {
  const clock = new FakeClock();
  const hook = new TestNotifier('hook', 'webhook', true, clock);
  const pager = new TestNotifier('pager', 'pagerduty', false, clock);
  const created = await World.open(config(options.delivery), { clock, notifiers: [hook, pager], ...(options.logger ? { logger: options.logger } : {}) });
  worlds.push(created);
  created.engine.start();
  return { world: created, hook, pager, clock };
}

/** Ids of the records pending on disk. */
async function outboxFiles(dir: string): Promise<string[]> {
  return (await readOutbox(join(dir, 'outbox'))).map((record) => record.id);
}

describe('delivery', () => {
  it('sends a single DOWN at once, with the fields a receiver needs, and empties the outbox', async () => {
    const { world, hook } = await started();
    world.goDown('api');
    await world.settle();
    assert.equal(hook.delivered.length, 1);
    const [event] = hook.events();
    assert.equal(event?.target, 'api');
    assert.equal(event?.to, 'DOWN');
    assert.equal(event?.targetType, 'tcp');
    assert.equal(event?.address, '127.0.0.1:10000');
    assert.deepEqual(event?.labels, {});
    assert.match(event?.id ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(await outboxFiles(world.dir), []);
    assert.deepEqual(world.engine.stats().sent, { hook: 1 });
  });

  it('loses nothing and keeps each target\'s order while the receiver is down, then back', async () => {
    const { world, hook } = await started();
    hook.script.push(...failing(6));
    world.goDown('api');
    await world.settle(3_000, 500);
    world.goDown('db');
    await world.settle(2_000, 500);
    world.recover('api');
    await world.settle(12_000, 500);
    world.goDown('web');
    world.recover('db');
    await world.settle(15_000, 500);
    world.recover('web');
    await world.settle(10 * 60_000, 1_000);
    assert.deepEqual(hook.transitions(), ['api:DOWN', 'db:DOWN', 'api:UP', 'web:DOWN', 'db:UP', 'web:UP']);
    const ids = hook.events().map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, 'each event delivered once');
    assert.equal(world.engine.stats().retries, 6);
    assert.equal(world.engine.stats().pending, 0);
    // Every retry of the first alert carried the same id (receivers dedupe on it).
    const firstIds = new Set(hook.attempts.slice(0, 7).map((attempt) => attempt.alert.id));
    assert.equal(firstIds.size, 1);
  });

  it('waits at least Retry-After before the next attempt, and tries right after it', async () => {
    const { world, hook } = await started();
    hook.script.push({ status: 'retry', error: 'HTTP 429', retryAfterMs: 2_000 });
    world.goDown('api');
    await world.settle();
    assert.equal(hook.attempts.length, 1);
    await world.settle(1_999, 100);
    assert.equal(hook.attempts.length, 1, 'no attempt before 2 s');
    await world.settle(1);
    assert.equal(hook.attempts.length, 2, 'an attempt at 2 s');
    assert.equal(hook.attempts[1]!.at - hook.attempts[0]!.at, 2_000);
    assert.equal(hook.delivered.length, 1);
  });

  it('backs off exponentially, capped at maxBackoff', async () => {
    const { world, hook } = await started({ delivery: { maxBackoff: '4s' } });
    hook.always = { status: 'retry', error: 'HTTP 503' };
    world.goDown('api');
    await world.settle(40_000, 50);
    const gaps = hook.attempts.slice(1).map((attempt, i) => attempt.at - hook.attempts[i]!.at);
    // random() = 0.5: half of 1 s, 2 s, 4 s, then half of the 4 s cap.
    assert.deepEqual(gaps.slice(0, 6), [500, 1000, 2000, 2000, 2000, 2000]);
  });

  it('gives up after giveUpAfter, logging one line with the notifier, targets and error', async () => {
    const { logger, lines } = capturingLogger();
    const { world, hook } = await started({ delivery: { giveUpAfter: '1m', maxBackoff: '10s' }, logger });
    hook.always = { status: 'retry', error: 'connect ECONNREFUSED 127.0.0.1:9' };
    world.goDown('api');
    await world.settle(3 * 60_000, 1_000);
    const attempts = hook.attempts.length;
    await world.settle(10 * 60_000, 10_000);
    assert.equal(hook.attempts.length, attempts, 'no attempt after giving up');
    const gaveUp = lines.filter((line) => line.msg === 'gave up delivering an alert');
    assert.equal(gaveUp.length, 1);
    assert.equal(gaveUp[0]?.notifier, 'hook');
    assert.deepEqual(gaveUp[0]?.targets, ['api']);
    assert.equal(gaveUp[0]?.error, 'connect ECONNREFUSED 127.0.0.1:9');
    const stats = world.engine.stats();
    assert.equal(stats.givenUp, 1);
    assert.equal(stats.failed.hook, 1);
    assert.equal(stats.pending, 0);
    assert.deepEqual(await outboxFiles(world.dir), []);
    assert.ok(hook.attempts.at(-1)!.at - hook.attempts[0]!.at <= 60_000 + 10_000);
  });

  it('drops an alert the notifier refuses for good, logs it once and counts it', async () => {
    const { logger, lines } = capturingLogger();
    const { world, hook } = await started({ logger });
    hook.script.push({ status: 'failed', error: 'HTTP 400: invalid event' });
    world.goDown('api');
    await world.settle(60_000, 1_000);
    assert.equal(hook.attempts.length, 1);
    assert.equal(hook.delivered.length, 0);
    assert.equal(lines.filter((line) => line.error === 'HTTP 400: invalid event').length, 1);
    assert.equal(world.engine.stats().failed.hook, 1);
    assert.deepEqual(await outboxFiles(world.dir), []);
    world.recover('api');
    await world.settle();
    assert.deepEqual(hook.transitions(), ['api:UP'], 'the next alert is not held up');
  });

  it('abandons an attempt that outlives its deadline (aborting it) and retries', async () => {
    const { world, hook } = await started();
    hook.script.push('hang');
    world.goDown('api');
    await world.settle();
    assert.equal(hook.attempts.length, 1);
    await world.settle(DELIVERY_DEADLINE_MS - 1);
    assert.equal(hook.attempts.length, 1);
    await world.settle(1 + 1_000, 100);
    assert.equal(hook.attempts.length, 2);
    assert.equal(hook.delivered.length, 1);
  });

  it('does not let a notifier that is down hold up another', async () => {
    const { world, hook, pager } = await started();
    world.config.targets.find((target) => target.name === 'api')!.notify = ['hook', 'pager'];
    hook.always = { status: 'retry', error: 'HTTP 503' };
    world.goDown('api');
    world.goDown('db');
    await world.settle(5_000, 100);
    assert.deepEqual(pager.transitions(), ['api:DOWN']);
    assert.equal(hook.delivered.length, 0);
  });
});

describe('stop', () => {
  it('aborts the attempt in flight and keeps its alert, which the next run delivers with the same id', async () => {
    const { world, hook, clock } = await started();
    hook.script.push('hang');
    world.goDown('api');
    await world.settle();
    assert.equal(hook.attempts.length, 1);
    await world.engine.stop();
    assert.equal((await outboxFiles(world.dir)).length, 1);
    assert.equal(clock.pending, 0, 'no timer left behind');

    const hook2 = new TestNotifier('hook', 'webhook', true, clock);
    const next = await World.open(world.config, { clock, dir: world.dir, notifiers: [hook2], statuses: world.statuses });
    next.engine.start();
    await next.settle();
    assert.equal(hook2.delivered.length, 1);
    assert.equal(hook2.delivered[0]?.id, hook.attempts[0]?.alert.id);
    await next.engine.stop();
  });
});

describe('hot reload', () => {
  it('keeps and logs the pending alerts of a removed notifier, and delivers them when it is back', async () => {
    const { logger, lines } = capturingLogger();
    const { world, hook, pager } = await started({ logger });
    hook.always = { status: 'retry', error: 'HTTP 503' };
    world.goDown('api');
    await world.settle(1_000, 100);
    const withoutHook = { ...world.config, notifiers: { pager: world.config.notifiers.pager! } };
    world.engine.updateConfig(withoutHook, new Map([['pager', pager]]));
    const kept = lines.find((line) => line.notifier === 'hook' && typeof line.msg === 'string' && line.msg.includes('no longer configured'));
    assert.ok(kept, 'a log line says the alerts are kept');
    assert.equal(kept.alerts, 1);
    await world.settle(60 * 60_000, 60_000);
    assert.equal(world.engine.stats().pending, 1, 'nothing dropped, even past giveUpAfter');
    assert.equal((await outboxFiles(world.dir)).length, 1);

    const hookAgain = new TestNotifier('hook', 'webhook', true, world.clock);
    world.engine.updateConfig(world.config, new Map([['hook', hookAgain], ['pager', pager]]));
    await world.settle(1_000);
    assert.deepEqual(hookAgain.transitions(), ['api:DOWN']);
  });
});
