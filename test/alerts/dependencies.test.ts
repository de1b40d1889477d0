import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { dependencyVerdict, recheckAfterRecovery } from '../../src/alerts/dependencies.js';
import type { TargetStatus } from '../../src/monitor/types.js';
import { FakeClock } from '../fakes/clock.js';
import { makeConfig, tcpTargets, TestNotifier, upStatus, World } from './helpers.js';

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

describe('dependency verdicts', () => {
  const statuses: Record<string, TargetStatus> = {
    up: upStatus('up'),
    down: upStatus('down', { state: 'DOWN', announced: 'DOWN' }),
    failing: upStatus('failing', { consecutiveFailures: 2 }),
    fresh: upStatus('fresh', { state: 'UNKNOWN', announced: 'UNKNOWN', consecutiveSuccesses: 0 }),
  };
  const lookup = (name: string) => statuses[name];
  const cases = [
    { name: 'all dependencies up: on its own', dependsOn: ['up'], expected: { kind: 'independent' } },
    { name: 'a dependency DOWN: fold into it', dependsOn: ['up', 'down'], expected: { kind: 'fold', dependency: 'down' } },
    { name: 'a dependency failing but not yet DOWN: hold', dependsOn: ['failing', 'up'], expected: { kind: 'hold', dependencies: ['failing'] } },
    { name: 'a dependency not probed yet: hold', dependsOn: ['fresh'], expected: { kind: 'hold', dependencies: ['fresh'] } },
    { name: 'DOWN wins over failing', dependsOn: ['failing', 'down'], expected: { kind: 'fold', dependency: 'down' } },
    { name: 'an unknown name is ignored', dependsOn: ['nope'], expected: { kind: 'independent' } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(dependencyVerdict(c.dependsOn, lookup), c.expected));

  it('after the dependency recovered: a failed probe since then means still down, its own recovery means drop', () => {
    const down = upStatus('db', { state: 'DOWN', announced: 'DOWN', lastResult: { ok: false, latencyMs: 1, at: 500 } });
    assert.equal(recheckAfterRecovery(down, 1000, 1000), 'wait');
    assert.equal(recheckAfterRecovery({ ...down, lastResult: { ok: false, latencyMs: 1, at: 1200 } }, 1000, 1300), 'announce');
    assert.equal(recheckAfterRecovery({ ...down, lastResult: { ok: true, latencyMs: 1, at: 1200 } }, 1000, 1300), 'wait');
    assert.equal(recheckAfterRecovery(upStatus('db'), 1000, 1300), 'drop');
    assert.equal(recheckAfterRecovery(down, 1000, 1000 + 5 * 60_000), 'announce');
  });
});

/** A seeded shuffle, so the "random" order is the same on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const DEPENDENTS = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`);

async function open(options: { dir?: string; clock?: FakeClock; statuses?: World['statuses'] } = {}) {
  const config = makeConfig({
    notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' }, pager: { type: 'pagerduty', routingKey: 'k'.repeat(32) } },
    delivery: { groupWait: '10s' },
    targets: [...tcpTargets(['gw'], { notify: ['hook', 'pager'] }), ...tcpTargets(DEPENDENTS, { notify: ['hook', 'pager'], dependsOn: ['gw'] })],
  });
  const clock = options.clock ?? new FakeClock();
  const hook = new TestNotifier('hook', 'webhook', true, clock);
  const pager = new TestNotifier('pager', 'pagerduty', false, clock);
  const world = await World.open(config, { clock, notifiers: [hook, pager], ...(options.dir ? { dir: options.dir } : {}), ...(options.statuses ? { statuses: options.statuses } : {}) });
  worlds.push(world);
  world.engine.start();
  return { world, hook, pager, clock };
}

describe('dependencies', () => {
  it('fold 20 dependents going DOWN with their gateway, in any order, into the gateway\'s alert', async () => {
    const { world, hook, pager, clock } = await open();
    const order = shuffled(DEPENDENTS, 7);
    order.splice(8, 0, 'gw');
    for (const name of ['gw', ...DEPENDENTS]) world.failing(name); // they all start failing together
    for (const name of order) {
      world.goDown(name);
      await clock.advance(100);
    }
    await world.settle(30_000, 1_000);

    assert.equal(pager.delivered.length, 1, 'one page: the gateway\'s');
    const page = pager.delivered[0]!.events[0]!;
    assert.equal(page.target, 'gw');
    const heldBeforeGateway = order.slice(0, 8);
    assert.deepEqual([...(page.dependents ?? [])].sort(), [...heldBeforeGateway].sort(), 'the page lists the dependents that went down with it');

    const events = hook.events();
    assert.deepEqual(new Set(events.map((event) => event.target)), new Set(['gw', ...DEPENDENTS]), 'the grouping notifier hears of all 21');
    assert.equal(events.length, 21);
    const gatewayIndex = events.findIndex((event) => event.target === 'gw');
    for (const [index, event] of events.entries()) {
      if (event.target === 'gw') continue;
      assert.equal(event.suppressedBy, 'gw', `${event.target} is folded into gw`);
      assert.ok(index > gatewayIndex, `${event.target} travels after gw`);
    }
    assert.ok(hook.delivered.length <= 3, `${hook.delivered.length} alerts`);
    const gatewayEvent = events[gatewayIndex]!;
    assert.deepEqual([...(gatewayEvent.dependents ?? [])].sort(), [...heldBeforeGateway].sort(), 'named in the same message');

    // The gateway recovers; 19 dependents follow, one stays down.
    world.recover('gw');
    await world.settle(200);
    for (const name of DEPENDENTS) if (name !== 'd07') world.recover(name);
    world.failing('d07', 4); // its first probe after the recovery fails again
    await world.settle(15_000, 500);

    assert.deepEqual(pager.transitions(), ['gw:DOWN', 'gw:UP', 'd07:DOWN'], 'only the dependent still down pages, on its own');
    const stillDown = pager.events().at(-1)!;
    assert.equal(stillDown.suppressedBy, undefined);
    assert.equal(stillDown.reason, 'still down after dependency gw recovered');
    assert.equal(stillDown.incidentId, world.status('d07').incident?.id);
    const hookAfter = hook.events().slice(21);
    assert.deepEqual(hookAfter.filter((event) => event.to === 'DOWN').map((event) => event.target), ['d07']);
    assert.equal(hookAfter.filter((event) => event.to === 'UP').length, 20, 'the gateway and 19 dependents recovered');
    await world.settle(60_000, 1_000);
    assert.equal(pager.delivered.length, 3, 'and announced once');
  });

  it('send a held DOWN on its own when the dependency is not confirmed DOWN within groupWait', async () => {
    const { world, hook, pager } = await open();
    world.failing('gw', 1);
    world.goDown('d01');
    await world.settle(9_000, 1_000);
    assert.deepEqual(pager.transitions(), [], 'held');
    world.statuses.set('gw', upStatus('gw')); // gw's next probe passed: it never went DOWN
    await world.settle(1_000);
    assert.deepEqual(pager.transitions(), ['d01:DOWN']);
    assert.deepEqual(hook.transitions(), ['d01:DOWN']);
    assert.equal(pager.events()[0]?.suppressedBy, undefined);
  });

  it('keep a held target\'s later events behind its DOWN', async () => {
    const { world, hook } = await open();
    world.failing('gw', 1);
    world.goDown('d01');
    await world.settle(1_000);
    world.recover('d01');
    await world.settle(20_000, 1_000);
    assert.deepEqual(hook.transitions(), ['d01:DOWN', 'd01:UP']);
  });

  it('keep a held DOWN across a crash and fold it once the dependency is DOWN', async () => {
    const { world, clock } = await open();
    world.failing('gw', 2);
    world.goDown('d01');
    await world.settle(1_000);
    // Crash; meanwhile the gateway was confirmed DOWN (and announced by the run that crashed... or not).
    world.goDown('gw', false);
    const restartClock = new FakeClock(clock.now());
    const again = await open({ dir: world.dir, clock: restartClock, statuses: world.statuses });
    await again.world.settle(15_000, 1_000);
    assert.deepEqual(again.pager.transitions(), []);
    assert.deepEqual(again.hook.transitions(), ['d01:DOWN']);
    assert.equal(again.hook.events()[0]?.suppressedBy, 'gw');
  });
});
