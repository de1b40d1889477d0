import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MaintenanceCalendar, windowCovers } from '../../src/alerts/maintenance.js';
import { FakeClock } from '../fakes/clock.js';
import { makeConfig, tcpTargets, TestNotifier, World } from './helpers.js';

const MINUTE = 60_000;
// Every 15 minutes for 5 minutes: whole quarter hours line up in every time zone.
const quarterly = { name: 'quarterly', schedule: '*/15 * * * *', duration: 5 * MINUTE, targets: ['api'] };
const T0 = Date.UTC(2026, 0, 1); // a quarter hour

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

describe('maintenance calendar', () => {
  const { calendar } = MaintenanceCalendar.build([quarterly]);
  const api = { name: 'api', labels: {} };
  const cases: Array<{ name: string; at: number; expected: string | undefined }> = [
    { name: 'a window starts on its cron time', at: T0, expected: 'quarterly' },
    { name: 'inside the window', at: T0 + 4 * MINUTE + 59_999, expected: 'quarterly' },
    { name: 'it ends after its duration', at: T0 + 5 * MINUTE, expected: undefined },
    { name: 'between windows', at: T0 + 14 * MINUTE, expected: undefined },
    { name: 'the next window', at: T0 + 15 * MINUTE + 1, expected: 'quarterly' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(calendar.windowFor(api, c.at), c.expected));

  it('reads a window\'s schedule in its own time zone', () => {
    const { calendar: zoned } = MaintenanceCalendar.build([{ name: 'tokyo-night', schedule: '0 2 * * *', timezone: 'Asia/Tokyo', duration: 60 * MINUTE }]);
    // 02:00 in Tokyo is 17:00 UTC the day before.
    assert.equal(zoned.windowFor(api, Date.UTC(2026, 0, 1, 17, 30)), 'tokyo-night');
    assert.equal(zoned.windowFor(api, Date.UTC(2026, 0, 1, 2, 30)), undefined);
  });

  it('knows the next boundary: the end inside a window, the next start outside', () => {
    assert.equal(calendar.nextBoundary(T0 + MINUTE), T0 + 5 * MINUTE);
    assert.equal(calendar.nextBoundary(T0 + 5 * MINUTE), T0 + 15 * MINUTE);
  });

  it('covers targets by name or by labels; a window naming neither covers every target', () => {
    const byLabels = { ...quarterly, targets: undefined, match: { team: 'db' } };
    assert.equal(windowCovers(byLabels, { name: 'x', labels: { team: 'db' } }), true);
    assert.equal(windowCovers(byLabels, { name: 'x', labels: { team: 'web' } }), false);
    assert.equal(windowCovers({ ...quarterly, targets: ['api'], match: { team: 'db' } }, { name: 'y', labels: { team: 'db' } }), true);
    assert.equal(windowCovers({ name: 'all', schedule: '0 2 * * *', duration: MINUTE }, { name: 'z', labels: {} }), true);
  });

  it('reports a schedule croner refuses instead of throwing', () => {
    const { errors } = MaintenanceCalendar.build([{ ...quarterly, schedule: '0/10 * * * *' }, { ...quarterly, name: 'bad', schedule: 'often' }]);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /maintenance window "quarterly": schedule "0\/10 \* \* \* \*"/);
    assert.match(errors[1]!, /maintenance window "bad"/);
  });
});

describe('maintenance windows', () => {
  async function open() {
    const config = makeConfig({
      notifiers: { hook: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } },
      maintenance: [{ name: 'quarterly', schedule: '*/15 * * * *', duration: '5m', targets: ['api'] }],
      targets: tcpTargets(['api', 'web'], { notify: ['hook'] }),
    });
    const clock = new FakeClock(T0 + MINUTE);
    const hook = new TestNotifier('hook', 'webhook', true, clock);
    const world = await World.open(config, { clock, notifiers: [hook] });
    worlds.push(world);
    world.engine.start();
    return { world, hook };
  }

  it('silence the targets they cover while open and announce the changed state once when they close', async () => {
    const { world, hook } = await open();
    world.goDown('api');
    world.goDown('web');
    await world.settle(MINUTE);
    assert.deepEqual(hook.transitions(), ['web:DOWN']);
    await world.settle(3 * MINUTE - 1, MINUTE); // 4:59 into the window
    assert.deepEqual(hook.transitions(), ['web:DOWN']);
    await world.settle(1);
    assert.deepEqual(hook.transitions(), ['web:DOWN', 'api:DOWN']);
    assert.equal(hook.events().at(-1)?.reason, 'maintenance window quarterly ended');
    await world.settle(60 * MINUTE, MINUTE);
    assert.equal(hook.transitions().length, 2, 'announced once, even as more windows open and close');
  });

  it('announce nothing when the target is back to what people knew by the end', async () => {
    const { world, hook } = await open();
    world.goDown('api');
    await world.settle(MINUTE);
    world.recover('api');
    await world.settle(20 * MINUTE, MINUTE);
    assert.deepEqual(hook.transitions(), []);
  });

  it('stop their timers on stop()', async () => {
    const { world } = await open();
    await world.engine.stop();
    assert.equal(world.clock.pending, 0);
  });
});
