import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_HEALTH_BOUNDS, HealthWatch, healthBounds, healthRoutes, judgeHealth, type HealthSnapshot, type HealthSource } from '../../src/http/health.js';
import { HttpServer } from '../../src/http/server.js';
import type { TargetStatus } from '../../src/monitor/types.js';
import { FakeClock } from '../fakes/clock.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const bounds = DEFAULT_HEALTH_BOUNDS;

function snapshot(over: { stopping?: boolean; scheduler?: Partial<HealthSnapshot['scheduler']>; outbox?: Partial<HealthSnapshot['outbox']>; stateStore?: HealthSnapshot['stateStore'] } = {}): HealthSnapshot {
  return {
    stopping: over.stopping ?? false,
    scheduler: { jobs: 100, stuck: 0, lastLagMs: 0.4, lateForMs: 0, ...over.scheduler },
    outbox: { pending: 0, oldestPendingAgeMs: 0, lastProgressAt: NOW - MIN, ...over.outbox },
    stateStore: over.stateStore ?? { failing: false },
  };
}

describe('judgeHealth', () => {
  const cases: Array<{ name: string; snapshot: HealthSnapshot; http: 200 | 503; status: string; problem?: RegExp; warning?: RegExp }> = [
    { name: 'healthy', snapshot: snapshot(), http: 200, status: 'ok' },
    {
      name: 'runs late beyond the bound for the sustain time',
      snapshot: snapshot({ scheduler: { lateForMs: 60_000, lastLagMs: 7_200 } }),
      http: 503,
      status: 'failing',
      problem: /probe runs have started more than 5s late for 60s \(the last one 7\.2s late\)/,
    },
    { name: 'runs late, but not for long yet', snapshot: snapshot({ scheduler: { lateForMs: 50_000, lastLagMs: 7_200 } }), http: 200, status: 'ok' },
    { name: 'lateness with no jobs left to run', snapshot: snapshot({ scheduler: { jobs: 0, lateForMs: 120_000 } }), http: 200, status: 'ok' },
    {
      name: 'outbox stalled: old alerts and no attempt finished for as long',
      snapshot: snapshot({ outbox: { pending: 3, oldestPendingAgeMs: 12 * MIN, lastProgressAt: NOW - 11 * MIN } }),
      http: 503,
      status: 'failing',
      problem: /alert delivery stalled: 3 alerts pending, the oldest for 12m, and no delivery attempt has finished for 11m/,
    },
    {
      name: 'outbox old while notifiers keep failing: a restart would not help',
      snapshot: snapshot({ outbox: { pending: 3, oldestPendingAgeMs: 40 * MIN, lastProgressAt: NOW - 2 * MIN } }),
      http: 200,
      status: 'degraded',
      warning: /alerts are not getting out: 3 alerts pending, the oldest for 40m; notifiers keep failing/,
    },
    { name: 'alerts pending but young', snapshot: snapshot({ outbox: { pending: 50, oldestPendingAgeMs: 9 * MIN, lastProgressAt: NOW - 20 * MIN } }), http: 200, status: 'ok' },
    {
      name: 'disk full: states kept in memory, the bot goes on',
      snapshot: snapshot({ stateStore: { failing: true, lastError: 'ENOSPC: no space left on device, write' } }),
      http: 200,
      status: 'degraded',
      warning: /cannot save target states: ENOSPC: no space left on device, write; they are kept in memory/,
    },
    { name: 'stuck probe runs', snapshot: snapshot({ scheduler: { stuck: 2 } }), http: 200, status: 'degraded', warning: /2 probe runs ignored their deadline/ },
    { name: 'stopping', snapshot: snapshot({ stopping: true }), http: 503, status: 'stopping', problem: /probebot is stopping/ },
    {
      name: 'disk full and runs late: liveness fails on the lag, the disk stays a warning',
      snapshot: snapshot({ scheduler: { lateForMs: 90_000 }, stateStore: { failing: true } }),
      http: 503,
      status: 'failing',
      problem: /late for 90s/,
      warning: /cannot save target states;/,
    },
  ];
  for (const { name, snapshot: given, http, status, problem, warning } of cases) {
    it(`${name}: ${http} ${status}`, () => {
      const verdict = judgeHealth(given, NOW, bounds);
      assert.equal(verdict.httpStatus, http);
      assert.equal(verdict.status, status);
      if (problem) assert.ok(verdict.problems.some((line) => problem.test(line)), `no problem like ${problem}: ${JSON.stringify(verdict.problems)}`);
      else assert.deepEqual(verdict.problems, []);
      if (warning) assert.ok(verdict.warnings.some((line) => warning.test(line)), `no warning like ${warning}: ${JSON.stringify(verdict.warnings)}`);
      else assert.deepEqual(verdict.warnings, []);
    });
  }

  it('gives a slow notifier time for its longest backoff before calling delivery stalled', () => {
    assert.equal(healthBounds(5 * MIN).outboxStuckMs, 11 * MIN);
    assert.equal(healthBounds(60 * MIN).outboxStuckMs, 121 * MIN);
    assert.equal(healthBounds(MIN).outboxStuckMs, 10 * MIN);
  });
});

/** What Bot.health() returns, healthy. */
function botHealth(over: { ok?: boolean; outbox?: Partial<ReturnType<HealthSource['health']>['outbox']>; state?: { failing: boolean; lastError?: string } } = {}): ReturnType<HealthSource['health']> {
  return {
    ok: over.ok ?? true,
    uptimeSeconds: 60,
    scheduler: { jobs: 10, running: 1, queued: 0, stuck: 0, lastLagMs: 0.3 },
    outbox: { pending: 0, oldestPendingAgeMs: 0, sent: {}, failed: {}, retries: 0, ...over.outbox },
    state: over.state ?? { failing: false },
  };
}

/** Feeds `runs` run lags per 10 s window, `late` of them over the bound, for `windows` windows. */
async function feed(watch: HealthWatch, clock: FakeClock, windows: number, runs: number, late: number): Promise<void> {
  for (let window = 0; window < windows; window++) {
    for (let run = 0; run < runs; run++) {
      watch.schedulerLag(run < late ? 6_000 : 0.5);
      await clock.advance(10_000 / runs);
    }
  }
}

describe('HealthWatch', () => {
  const lateFor = (watch: HealthWatch) => watch.snapshot(botHealth()).scheduler.lateForMs;
  const start = () => new FakeClock(Math.floor(NOW / 10_000) * 10_000);

  it('calls runs late once over 1% of every window started late, for as long as that lasts', async () => {
    const clock = start();
    const watch = new HealthWatch({ clock });
    await feed(watch, clock, 7, 100, 2);
    assert.equal(lateFor(watch), 70_000);
    assert.equal(judgeHealth(watch.snapshot(botHealth()), clock.now(), watch.bounds).httpStatus, 503);
  });

  it('does not call runs late when only 1% of them are', async () => {
    const clock = start();
    const watch = new HealthWatch({ clock });
    await feed(watch, clock, 7, 100, 1);
    assert.equal(lateFor(watch), 0);
  });

  it('ends lateness with one window of runs on time', async () => {
    const clock = start();
    const watch = new HealthWatch({ clock });
    await feed(watch, clock, 5, 20, 20);
    assert.equal(lateFor(watch), 50_000);
    await feed(watch, clock, 1, 20, 0);
    assert.equal(lateFor(watch), 0);
    await feed(watch, clock, 3, 20, 20);
    assert.equal(lateFor(watch), 30_000);
  });

  it('does not stretch one late run over a quiet minute', async () => {
    const clock = start();
    const watch = new HealthWatch({ clock });
    watch.schedulerLag(9_000);
    await clock.advance(70_000);
    assert.equal(lateFor(watch), 0);
  });

  it('calls delivery stalled only when old alerts wait and no attempt has finished for the bound', async () => {
    const clock = new FakeClock(NOW);
    const watch = new HealthWatch({ clock });
    const stale = (retries: number, oldestPendingAgeMs: number) => botHealth({ outbox: { pending: 2, oldestPendingAgeMs, retries } });
    const verdict = (health: ReturnType<HealthSource['health']>) => judgeHealth(watch.snapshot(health), clock.now(), watch.bounds);

    assert.equal(verdict(stale(1, 0)).httpStatus, 200);
    for (let minute = 1; minute <= 12; minute++) {
      await clock.advance(MIN);
      // A retry finishes every 5 minutes: slow, but the engine is alive.
      const result = verdict(stale(1 + Math.floor(minute / 5), minute * MIN));
      assert.equal(result.httpStatus, 200, `minute ${minute}: ${JSON.stringify(result)}`);
    }
    assert.equal(verdict(stale(3, 12 * MIN)).status, 'degraded');
    // The last retry finished at minute 10; from then on nothing moves.
    for (let minute = 13; minute <= 19; minute++) {
      await clock.advance(MIN);
      assert.equal(verdict(stale(3, minute * MIN)).httpStatus, 200, `minute ${minute}`);
    }
    await clock.advance(MIN);
    const stalled = verdict(stale(3, 20 * MIN));
    assert.equal(stalled.httpStatus, 503);
    assert.match(stalled.problems.join('\n'), /alert delivery stalled/);
  });
});

describe('/healthz and /readyz over HTTP', () => {
  let server: HttpServer;
  let port: number;
  const clock = new FakeClock(NOW);
  const watch = new HealthWatch({ clock });
  let health = botHealth();
  const statuses: TargetStatus[] = [];
  const source: HealthSource = { statuses: () => statuses, health: () => health };

  before(async () => {
    server = new HttpServer();
    for (const [path, handler] of Object.entries(healthRoutes(source, watch))) server.route(path, handler);
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => server.close());

  function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, timeout: 5_000 }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end();
    });
  }

  it('answers 200 ok and ready while healthy', async () => {
    health = botHealth();
    const live = await get('/healthz');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    assert.deepEqual(live.body.problems, []);
    const ready = await get('/readyz');
    assert.deepEqual(ready, { status: 200, body: { status: 'ready' } });
  });

  it('stays live on a full disk and says why in the body', async () => {
    health = botHealth({ state: { failing: true, lastError: 'ENOSPC: no space left on device' } });
    const live = await get('/healthz');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'degraded');
    assert.match(String(live.body.warnings), /ENOSPC/);
  });

  it('fails liveness with the reason once runs keep starting late', async () => {
    health = botHealth();
    await feed(watch, clock, 7, 10, 10);
    const live = await get('/healthz');
    assert.equal(live.status, 503);
    assert.equal(live.body.status, 'failing');
    assert.match(String(live.body.problems), /late for 70s/);
    assert.equal((await get('/readyz')).status, 200, 'still ready: it is running, only slow');
    await feed(watch, clock, 2, 10, 0);
    assert.equal((await get('/healthz')).status, 200);
  });

  it('answers 503 on both while stopping', async () => {
    health = botHealth({ ok: false });
    assert.equal((await get('/healthz')).status, 503);
    assert.deepEqual(await get('/readyz'), { status: 503, body: { status: 'stopping' } });
  });
});
