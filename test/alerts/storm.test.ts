import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { NOTIFIER_RATE_LIMITS } from '../../src/alerts/backoff.js';
import { readOutbox } from '../../src/alerts/outbox.js';
import { FakeClock } from '../fakes/clock.js';
import { makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

function names(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `t${String(i).padStart(4, '0')}`);
}

async function stormWorld(count: number, groupWait = '10s') {
  const config = makeConfig({
    notifiers: {
      hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
      pager: { type: 'pagerduty', routingKey: 'k'.repeat(32) },
      log: { type: 'log' },
    },
    delivery: { groupWait },
    targets: tcpTargets(names(count), { notify: ['hook'] }),
  });
  const clock = new FakeClock();
  const hook = new TestNotifier('hook', 'webhook', true, clock);
  const pager = new TestNotifier('pager', 'pagerduty', false, clock);
  const log = new TestNotifier('log', 'log', false, clock);
  const world = await World.open(config, { clock, notifiers: [hook, pager, log] });
  worlds.push(world);
  world.engine.start();
  return { world, hook, pager, log, clock };
}

describe('storm grouping', () => {
  it('sends the first DOWN at once and the next 499, arriving over 2 s, as one alert when the window closes', async () => {
    const { world, hook, clock } = await stormWorld(500);
    const start = clock.now();
    const [first, ...rest] = names(500);
    world.goDown(first!);
    await world.engine.idle(); // fake time stands still while the disk works
    for (const name of rest) {
      world.goDown(name);
      await clock.advance(4);
    }
    await world.engine.idle();
    assert.equal(hook.delivered.length, 1, 'only the first so far');
    assert.equal(hook.delivered[0]?.events.length, 1);
    assert.equal(hook.attempts[0]?.at, start, 'the first one was not delayed');
    await world.settle(10_000, 1_000);
    assert.ok(hook.delivered.length <= 3, `${hook.delivered.length} alerts`);
    const named = new Set(hook.events().map((event) => event.target));
    assert.equal(named.size, 500);
    assert.equal(hook.events().length, 500);
  });

  it('turns 1,000 DOWNs in one tick into a handful of alerts', async () => {
    const { world, hook } = await stormWorld(1000);
    for (const name of names(1000)) world.goDown(name);
    await world.settle(30_000, 1_000);
    assert.ok(hook.delivered.length <= 5, `${hook.delivered.length} alerts`);
    assert.equal(new Set(hook.events().map((event) => event.target)).size, 1000);
  });

  it('keeps each target\'s order inside a group and across groups', async () => {
    const { world, hook } = await stormWorld(3);
    const [a, b, c] = names(3) as [string, string, string];
    world.goDown(a); // at once
    await world.settle(1_000);
    world.goDown(b);
    await world.settle(1_000);
    world.recover(b); // same window as its DOWN
    world.recover(a); // its DOWN went in the first alert
    await world.settle(9_000, 1_000);
    world.goDown(c); // inside the second window
    await world.settle(1_000);
    world.recover(c);
    await world.settle(30_000, 1_000);
    assert.deepEqual(hook.delivered.map((alert) => alert.events.map((event) => `${event.target}:${event.to}`)), [
      [`${a}:DOWN`],
      [`${b}:DOWN`, `${b}:UP`, `${a}:UP`],
      [`${c}:DOWN`, `${c}:UP`],
    ]);
  });

  it('gives a quiet notifier\'s next event straight through once the window has passed', async () => {
    const { world, hook, clock } = await stormWorld(2);
    const [a, b] = names(2) as [string, string];
    world.goDown(a);
    await world.settle(60_000, 10_000);
    const before = clock.now();
    world.goDown(b);
    await world.settle();
    assert.equal(hook.delivered.length, 2);
    assert.equal(hook.attempts[1]?.at, before);
  });
});

describe('a pager (no grouping) in a storm', () => {
  it('gets one alert per event, paced by the rate limit after a burst', async () => {
    const limit = NOTIFIER_RATE_LIMITS.pagerduty!;
    const { world, pager, clock } = await stormWorld(50);
    for (const target of world.config.targets) target.notify = ['pager'];
    const start = clock.now();
    for (const name of names(50)) world.goDown(name);
    await world.settle();
    assert.equal(pager.attempts.length, limit.burst);
    await world.settle(499, 100);
    assert.equal(pager.attempts.length, limit.burst, 'no extra call before a token is back');
    await world.settle(1);
    assert.equal(pager.attempts.length, limit.burst + 1);
    await world.settle(30_000, 100);
    assert.equal(pager.delivered.length, 50);
    assert.ok(pager.delivered.every((alert) => alert.events.length === 1));
    for (const [index, attempt] of pager.attempts.entries()) {
      const allowed = limit.burst + ((attempt.at - start) * limit.perSecond) / 1000;
      assert.ok(index + 1 <= allowed + 1e-9, `call ${index + 1} at +${attempt.at - start} ms is over the limit`);
    }
  });
});

describe('cost of the outbox on disk', () => {
  it('writes, delivers and removes a 1,000-event storm to a non-grouping notifier (1,000 alerts) within 5 s', async (t) => {
    const { world, log } = await stormWorld(1000, '0s');
    for (const target of world.config.targets) target.notify = ['log'];
    const started = performance.now();
    for (const name of names(1000)) {
      world.goDown(name);
      await new Promise<void>((resolve) => setImmediate(resolve)); // each DOWN in its own tick, as probes finish
    }
    for (let round = 0; round < 1_000 && log.delivered.length < 1000; round++) await world.engine.idle();
    const elapsed = performance.now() - started;
    t.diagnostic(`1,000 events as 1,000 alerts: written, delivered and removed in ${elapsed.toFixed(0)} ms`);
    assert.equal(log.delivered.length, 1000);
    assert.deepEqual(await readOutbox(join(world.dir, 'outbox')), []);
    assert.ok(elapsed < 5_000, `${elapsed.toFixed(0)} ms`);
  });

  it('gets a lone DOWN to the notifier as fast as the disk allows (no timer in the way)', async (t) => {
    const { world, hook } = await stormWorld(1);
    const [name] = names(1) as [string];
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      world.goDown(name);
      for (let round = 0; round < 1_000 && hook.delivered.length < i * 2 + 1; round++) await new Promise<void>((resolve) => setImmediate(resolve));
      latencies.push(performance.now() - started);
      world.recover(name);
      await world.settle(30_000, 10_000); // the recovery goes out when the window closes; then all is quiet again
    }
    latencies.sort((a, b) => a - b);
    const p50 = latencies[24]!;
    const worst = latencies[49]!;
    t.diagnostic(`publish -> deliver(), 50 lone DOWNs: p50 ${p50.toFixed(2)} ms, max ${worst.toFixed(2)} ms`);
    // The disk's fsync dominates and varies with the machine; this bound only catches a wait on a
    // real timer (fake time stands still while this measures).
    assert.ok(worst < 500, `max ${worst.toFixed(1)} ms`);
  });
});
