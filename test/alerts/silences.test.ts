import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { silenceCovers } from '../../src/alerts/silences.js';
import { FakeClock } from '../fakes/clock.js';
import { capturingLogger, makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const HOUR = 3_600_000;
const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

async function open(options: { dir?: string; clock?: FakeClock; statuses?: World['statuses']; logger?: ReturnType<typeof capturingLogger>['logger'] } = {}) {
  const config = makeConfig({
    notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' }, pager: { type: 'pagerduty', routingKey: 'k'.repeat(32) } },
    targets: [
      ...tcpTargets(['api', 'web'], { notify: ['hook', 'pager'] }),
      ...tcpTargets(['db1', 'db2'], { notify: ['hook', 'pager'], labels: { team: 'db' } }),
    ],
  });
  const clock = options.clock ?? new FakeClock();
  const hook = new TestNotifier('hook', 'webhook', true, clock);
  const pager = new TestNotifier('pager', 'pagerduty', false, clock);
  const world = await World.open(config, { clock, notifiers: [hook, pager], ...(options.dir ? { dir: options.dir } : {}), ...(options.statuses ? { statuses: options.statuses } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  worlds.push(world);
  world.engine.start();
  return { world, hook, pager, clock };
}

describe('which targets a silence covers', () => {
  const api = { name: 'api', labels: { team: 'web', env: 'prod' } };
  const cases = [
    { name: 'by target name', matcher: { target: 'api' }, expected: true },
    { name: 'not another target', matcher: { target: 'db' }, expected: false },
    { name: 'by labels', matcher: { labels: { team: 'web' } }, expected: true },
    { name: 'every label must match', matcher: { labels: { team: 'web', env: 'dev' } }, expected: false },
    { name: 'name and labels must both match', matcher: { target: 'api', labels: { env: 'dev' } }, expected: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(silenceCovers({ matcher: c.matcher }, api), c.expected));
});

describe('silences', () => {
  it('suppress a target\'s notifications (with a debug line) and announce the changed state once when they end', async () => {
    const { logger, lines } = capturingLogger();
    const { world, hook, pager, clock } = await open({ logger });
    const silence = world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'deploy', author: 'U123' });
    assert.match(silence.id, /^[0-9a-f]{8}$/);
    world.goDown('api');
    world.goDown('web');
    await world.settle(30 * 60_000, 60_000);
    assert.deepEqual(hook.transitions(), ['web:DOWN']);
    assert.deepEqual(pager.transitions(), ['web:DOWN']);
    assert.ok(lines.some((line) => line.msg === 'notification silenced' && line.target === 'api' && line.level === 20));

    await world.settle(30 * 60_000, 60_000);
    assert.deepEqual(hook.transitions(), ['web:DOWN', 'api:DOWN']);
    assert.deepEqual(pager.transitions(), ['web:DOWN', 'api:DOWN']);
    const announced = hook.events().at(-1)!;
    assert.equal(announced.reason, 'silence ended: deploy');
    assert.equal(announced.from, 'UP');
    assert.equal(announced.incidentId, world.status('api').incident?.id);
    await world.settle(3 * HOUR, 60_000);
    assert.equal(hook.transitions().length, 2, 'announced exactly once');
    assert.deepEqual(world.engine.silences.list(), [], 'the expired silence is pruned');
  });

  it('announce nothing when the state at the end is what people were last told', async () => {
    const { world, hook, clock } = await open();
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'deploy', author: 'U123' });
    world.goDown('api');
    await world.settle(10 * 60_000, 60_000);
    world.recover('api');
    await world.settle(2 * HOUR, 60_000);
    assert.deepEqual(hook.transitions(), []);
  });

  it('announce a recovery that happened under the silence, for an incident people were told about', async () => {
    const { world, hook, clock } = await open();
    const down = world.goDown('api');
    await world.settle();
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'fixing', author: 'U123' });
    world.recover('api');
    await world.settle(2 * HOUR, 60_000);
    assert.deepEqual(hook.transitions(), ['api:DOWN', 'api:UP']);
    const recovery = hook.events()[1]!;
    assert.equal(recovery.incidentId, down.incidentId);
    assert.equal(recovery.reason, 'silence ended: fixing');
    assert.equal(recovery.downForMs, HOUR);
  });

  it('match by labels, and announce on removal only the targets whose state changed', async () => {
    const { world, hook, clock } = await open();
    const silence = world.engine.silences.add({ matcher: { labels: { team: 'db' } }, until: clock.now() + 10 * HOUR, reason: 'migration', author: 'U1' });
    world.goDown('db1');
    world.goDown('db2');
    await world.settle(60_000);
    world.recover('db2');
    await world.settle(60_000);
    assert.deepEqual(hook.transitions(), []);
    const removed = world.engine.silences.remove(silence.id);
    assert.deepEqual(removed.map((s) => s.id), [silence.id]);
    await world.settle(60_000);
    assert.deepEqual(hook.transitions(), ['db1:DOWN']);
    assert.equal(hook.events()[0]?.reason, 'silence ended: migration');
  });

  it('can be removed by target name', async () => {
    const { world, clock } = await open();
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'a', author: 'U1' });
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + 2 * HOUR, reason: 'b', author: 'U1' });
    world.engine.silences.add({ matcher: { target: 'web' }, until: clock.now() + HOUR, reason: 'c', author: 'U1' });
    assert.equal(world.engine.silences.remove('api').length, 2);
    assert.deepEqual(world.engine.silences.list().map((s) => s.reason), ['c']);
  });

  it('refuse a silence that matches nothing in particular or has already ended', async () => {
    const { world, clock } = await open();
    assert.throws(() => world.engine.silences.add({ matcher: {}, until: clock.now() + HOUR, reason: '', author: 'U1' }), /target name or at least one label/);
    assert.throws(() => world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now(), reason: '', author: 'U1' }), /end in the future/);
  });

  it('survive a restart (silences.json) and still end on time', async () => {
    const { world, clock } = await open();
    const silence = world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'deploy', author: 'U123' });
    await world.engine.stop();
    const saved = JSON.parse(await readFile(join(world.dir, 'silences.json'), 'utf8')) as { silences: unknown[] };
    assert.equal(saved.silences.length, 1);

    const again = await open({ dir: world.dir, clock, statuses: world.statuses });
    assert.deepEqual(again.world.engine.silences.list(), [silence]);
    again.world.goDown('api');
    await again.world.settle(30 * 60_000, 60_000);
    assert.deepEqual(again.hook.transitions(), []);
    await again.world.settle(30 * 60_000, 60_000);
    assert.deepEqual(again.hook.transitions(), ['api:DOWN']);
  });

  it('announce what a silence that ended while probebot was stopped kept back', async () => {
    const { world, clock, hook } = await open();
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + HOUR, reason: 'deploy', author: 'U123' });
    world.goDown('api');
    await world.settle(60_000);
    await world.engine.stop();
    await clock.advance(2 * HOUR);
    const again = await open({ dir: world.dir, clock, statuses: world.statuses });
    await again.world.settle(1_000);
    assert.deepEqual(hook.transitions(), []);
    assert.deepEqual(again.hook.transitions(), ['api:DOWN']);
    assert.equal(again.hook.events()[0]?.reason, 'silence ended: deploy');
  });

  it('pause reminders while silenced', async () => {
    const config = makeConfig({
      notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } },
      targets: tcpTargets(['api'], { notify: ['hook'], repeatInterval: '1h' }),
    });
    const clock = new FakeClock();
    const hook = new TestNotifier('hook', 'webhook', true, clock);
    const world = await World.open(config, { clock, notifiers: [hook] });
    worlds.push(world);
    world.engine.start();
    world.goDown('api');
    await world.settle(60_000);
    world.engine.silences.add({ matcher: { target: 'api' }, until: clock.now() + 3 * HOUR, reason: 'known', author: 'U1' });
    await world.settle(3 * HOUR - 120_000, 60_000);
    assert.equal(hook.delivered.filter((alert) => alert.kind === 'reminder').length, 0);
    await world.settle(120_000, 60_000);
    assert.equal(hook.delivered.filter((alert) => alert.kind === 'reminder').length, 1, 'the overdue reminder once the silence ends');
  });
});
