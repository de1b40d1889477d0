import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { nextReminderAt, reminderInterval } from '../../src/alerts/reminders.js';
import { FakeClock } from '../fakes/clock.js';
import { makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const HOUR = 3_600_000;
const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

function config(pagerRepeat?: string) {
  return makeConfig({
    notifiers: {
      hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
      pager: { type: 'pagerduty', routingKey: 'k'.repeat(32), ...(pagerRepeat ? { repeatInterval: pagerRepeat } : {}) },
    },
    targets: [...tcpTargets(['api'], { notify: ['hook', 'pager'], repeatInterval: '1h' }), ...tcpTargets(['quiet'], { notify: ['hook'] })],
  });
}

async function open(options: { pagerRepeat?: string; clock?: FakeClock; dir?: string; statuses?: World['statuses'] } = {}) {
  const clock = options.clock ?? new FakeClock();
  const hook = new TestNotifier('hook', 'webhook', true, clock);
  const pager = new TestNotifier('pager', 'pagerduty', false, clock);
  const world = await World.open(config(options.pagerRepeat), {
    clock, notifiers: [hook, pager], ...(options.dir ? { dir: options.dir } : {}), ...(options.statuses ? { statuses: options.statuses } : {}),
  });
  worlds.push(world);
  world.engine.start();
  return { world, hook, pager, clock };
}

const reminders = (notifier: TestNotifier) => notifier.delivered.filter((alert) => alert.kind === 'reminder');

describe('which interval applies', () => {
  const target = { repeatInterval: 4 * HOUR };
  const cases = [
    { name: 'the notifier\'s own interval wins', notifier: { type: 'webhook' as const, url: 'http://x', timeout: 1, repeatInterval: HOUR }, expected: HOUR },
    { name: 'else the target\'s', notifier: { type: 'webhook' as const, url: 'http://x', timeout: 1 }, expected: 4 * HOUR },
    { name: 'PagerDuty only with its own', notifier: { type: 'pagerduty' as const, routingKey: 'k', severity: 'critical' as const, url: 'http://x', timeout: 1 }, expected: undefined },
    { name: 'PagerDuty with its own', notifier: { type: 'pagerduty' as const, routingKey: 'k', severity: 'critical' as const, url: 'http://x', timeout: 1, repeatInterval: HOUR }, expected: HOUR },
  ];
  for (const c of cases) it(c.name, () => assert.equal(reminderInterval(c.notifier, target), c.expected));
  it('none when neither sets one', () => assert.equal(reminderInterval({ type: 'log' }, {}), undefined));
  it('counts from the last reminder, else from when the DOWN was told', () => {
    assert.equal(nextReminderAt(1000, undefined, 500), 1500);
    assert.equal(nextReminderAt(1000, 4000, 500), 4500);
  });
});

describe('reminders while DOWN', () => {
  it('re-notify every repeatInterval while DOWN, and stop after the recovery', async () => {
    const { world, hook, pager } = await open();
    const down = world.goDown('api');
    await world.settle(HOUR - 1_000, 60_000);
    assert.equal(reminders(hook).length, 0);
    await world.settle(1_000);
    assert.equal(reminders(hook).length, 1);
    const [reminder] = reminders(hook);
    assert.equal(reminder?.events[0]?.target, 'api');
    assert.equal(reminder?.events[0]?.to, 'DOWN');
    assert.equal(reminder?.events[0]?.incidentId, down.incidentId);
    assert.match(reminder?.events[0]?.reason ?? '', /still DOWN for 1h/);
    await world.settle(HOUR, 60_000);
    assert.equal(reminders(hook).length, 2);
    assert.equal(reminders(pager).length, 0, 'PagerDuty only reminds when its own notifier sets repeatInterval');
    world.recover('api');
    await world.settle(5 * HOUR, 60_000);
    assert.equal(reminders(hook).length, 2, 'none after the recovery');
  });

  it('remind PagerDuty at its own interval', async () => {
    const { world, pager } = await open({ pagerRepeat: '30m' });
    world.goDown('api');
    await world.settle(2 * HOUR, 60_000);
    assert.equal(reminders(pager).length, 4);
    assert.ok(reminders(pager).every((alert) => alert.events.length === 1));
  });

  it('send none for a target without repeatInterval', async () => {
    const { world, hook } = await open();
    world.goDown('quiet');
    await world.settle(10 * HOUR, HOUR);
    assert.equal(reminders(hook).length, 0);
  });

  it('carry on after a restart from the last reminder, without repeating or bunching', async () => {
    const { world, hook, clock } = await open();
    const start = clock.now();
    world.goDown('api');
    await world.settle(HOUR + 30 * 60_000, 60_000); // one reminder at 1h
    assert.equal(reminders(hook).length, 1);
    await world.engine.stop();

    const again = await open({ clock, dir: world.dir, statuses: world.statuses });
    await again.world.settle(29 * 60_000, 60_000);
    assert.equal(reminders(again.hook).length, 0, 'not before 2h');
    await again.world.settle(60_000);
    assert.equal(reminders(again.hook).length, 1, 'at 2h');
    assert.equal(again.hook.delivered.at(-1)!.createdAt - start, 2 * HOUR);
    await again.world.engine.stop();

    // Stopped for three hours: one reminder on start, not three, then every hour again.
    await clock.advance(3 * HOUR);
    const late = await open({ clock, dir: world.dir, statuses: world.statuses });
    await late.world.settle(1_000);
    assert.equal(reminders(late.hook).length, 1);
    await late.world.settle(HOUR, 60_000);
    assert.equal(reminders(late.hook).length, 2);
  });

  it('group the reminders of targets down together into one alert for a grouping notifier', async () => {
    const cfg = makeConfig({
      notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } },
      targets: tcpTargets(['a', 'b', 'c'], { notify: ['hook'], repeatInterval: '1h' }),
    });
    const clock = new FakeClock();
    const hook = new TestNotifier('hook', 'webhook', true, clock);
    const world = await World.open(cfg, { clock, notifiers: [hook] });
    worlds.push(world);
    world.engine.start();
    world.goDown('a');
    await world.settle(2_000);
    world.goDown('b');
    world.goDown('c');
    await world.settle(HOUR, 60_000);
    const sent = reminders(hook);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.events.map((event) => event.target).sort(), ['a', 'b', 'c']);
  });
});
