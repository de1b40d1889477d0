/**
 * Scenario 3: targets that never answer (a blackholed TCP port, an HTTP body that stalls, a DNS
 * server that stays silent, an fping that never returns) each fail at their deadline, and the
 * healthy targets beside them keep their schedule.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { startBlackholedPort, startDnsServer, startHttpTarget } from '../fakes/targets.js';
import { baseConfig, killAllBots, sleep, startBot, startTcpListener, until, workspace, type LogLine } from './harness.js';

const TIMEOUT_MS = 400;
const INTERVAL_MS = 200;
const WINDOW_MS = 3_000;
/** 15 ticks fit in the window; allow two lost to a loaded machine. */
const MIN_TICKS = 13;

const space = workspace('deadlines');
after(async () => {
  await killAllBots();
  space.remove();
});

/**
 * fping and ping that never answer: each records its own pid and its child's, then waits.
 * `-v`/`-V` answer at once, so the bot's startup check finds them runnable.
 */
function fakePingTools(pidFile: string): string {
  const bin = join(space.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = `#!/bin/sh
case "$1" in -v|-V) echo "fake $0 1.0"; exit 0;; esac
sleep 30 &
echo "$$ $!" >> "${pidFile}"
wait
`;
  for (const name of ['fping', 'ping']) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** Whether a process is gone (or only a zombie waiting for its parent). */
function isGone(pid: number): boolean {
  const stat = join('/proc', String(pid), 'stat');
  if (!existsSync(stat)) return true;
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
  } catch {
    return true;
  }
}

test('unanswered probes fail at their deadline while healthy targets keep every tick', { timeout: 60_000 }, async (t) => {
  const blackholed = await startBlackholedPort();
  const stalled = await startHttpTarget({ body: 'partial body', then: 'stall' });
  const silentDns = await startDnsServer({}, { silent: true });
  const healthyHttp = await startHttpTarget({ body: 'ok' });
  const healthyTcp = await Promise.all([startTcpListener(), startTcpListener()]);
  t.after(() => Promise.all([blackholed.close(), stalled.close(), silentDns.close(), healthyHttp.close(), ...healthyTcp.map((listener) => listener.close())]));
  const pidFile = join(space.dir, 'fake-ping.pids');
  const bin = fakePingTools(pidFile);

  const hung = { timeout: `${TIMEOUT_MS}ms` };
  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(join(space.dir, 'state')),
    defaults: { interval: `${INTERVAL_MS}ms`, retryInterval: `${INTERVAL_MS}ms`, timeout: '300ms', failureThreshold: 2, successThreshold: 1 },
    targets: [
      { name: 'blackholed-tcp', type: 'tcp', host: blackholed.host, port: blackholed.port, ...hung },
      { name: 'stalled-body', type: 'http', url: `${stalled.url}/stall`, ...hung },
      { name: 'silent-dns', type: 'dns', query: 'api.example.test', server: silentDns.address, ...hung },
      { name: 'silent-ping', type: 'icmp', host: '127.0.0.1', ...hung },
      { name: 'healthy-http', type: 'http', url: `${healthyHttp.url}/health` },
      { name: 'healthy-tcp-1', type: 'tcp', host: '127.0.0.1', port: healthyTcp[0]!.port },
      { name: 'healthy-tcp-2', type: 'tcp', host: '127.0.0.1', port: healthyTcp[1]!.port },
    ],
  });
  const bot = await startBot({ configPath, env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` } });

  const expected: Record<string, RegExp> = {
    'blackholed-tcp': new RegExp(`^timeout after ${TIMEOUT_MS}ms \\(connect`),
    'stalled-body': new RegExp(`^timeout after ${TIMEOUT_MS}ms \\(waiting for body\\)$`),
    'silent-dns': new RegExp(`^timeout after ${TIMEOUT_MS}ms \\(waiting for answer\\)$`),
    'silent-ping': new RegExp(`^(no echo reply from 127\\.0\\.0\\.1 within ${TIMEOUT_MS}ms|timeout after ${TIMEOUT_MS}ms \\(waiting for echo reply\\))$`),
  };
  const downs = new Map<string, LogLine>();
  await until(() => {
    for (const line of bot.lines) if (line.notifier === 'log' && line.to === 'DOWN') downs.set(String(line.target), line);
    return Object.keys(expected).every((name) => downs.has(name));
  }, () => `every hung target DOWN (have ${[...downs.keys()].join(', ')})`);
  assert.equal(downs.size, Object.keys(expected).length, `only the hung targets went DOWN: ${[...downs.keys()].join(', ')}`);
  for (const [name, pattern] of Object.entries(expected)) {
    const line = downs.get(name)!;
    assert.match(String(line.error), pattern, `${name}: the error in its DOWN line`);
    const latencyMs = Number(line.latencyMs);
    assert.ok(latencyMs >= TIMEOUT_MS * 0.9 && latencyMs < TIMEOUT_MS + 600, `${name}: failed at its deadline, after ${latencyMs}ms`);
  }

  // Healthy ticks over a window, counted where they arrive; the hung probes run all the while.
  const before = { http: healthyHttp.connections, tcp: healthyTcp.map((listener) => listener.arrivals.length), metrics: await bot.metrics() };
  await sleep(WINDOW_MS);
  const afterWindow = await bot.metrics();
  const ticks = { 'healthy-http': healthyHttp.connections - before.http, ...Object.fromEntries(healthyTcp.map((listener, index) => [`healthy-tcp-${index + 1}`, listener.arrivals.length - before.tcp[index]!])) };
  t.diagnostic(`healthy probes in ${WINDOW_MS}ms: ${JSON.stringify(ticks)}`);
  for (const [name, count] of Object.entries(ticks)) {
    assert.ok(count >= MIN_TICKS, `${name}: ${count} probes in ${WINDOW_MS}ms at a ${INTERVAL_MS}ms interval (want at least ${MIN_TICKS})`);
  }
  for (const name of Object.keys(expected)) {
    const seconds = afterWindow.value('probebot_probe_last_duration_seconds', { target: name });
    assert.ok(seconds >= (TIMEOUT_MS * 0.9) / 1000 && seconds < (TIMEOUT_MS + 600) / 1000, `${name}: last probe took ${seconds}s`);
    assert.equal(afterWindow.value('probebot_probe_success', { target: name }), 0);
  }
  for (const name of Object.keys(ticks)) assert.equal(afterWindow.value('probebot_probe_success', { target: name }), 1, `${name} stays healthy`);
  // Of the runs started in the window, nearly all started within 50 ms of their due time.
  const lag = (metrics: typeof afterWindow, le: string) => metrics.value('probebot_scheduler_lag_seconds_bucket', { le });
  const runs = lag(afterWindow, '+Inf') - lag(before.metrics, '+Inf');
  const prompt = lag(afterWindow, '0.05') - lag(before.metrics, '0.05');
  t.diagnostic(`deadline failures after ${[...downs].map(([name, line]) => `${name} ${Math.round(Number(line.latencyMs))}ms`).join(', ')}; ${prompt}/${runs} runs started within 50ms`);
  assert.ok(runs >= 3 * MIN_TICKS, `runs started in the window: ${runs}`);
  assert.ok(prompt / runs >= 0.9, `${prompt} of ${runs} runs started within 50ms of their due time`);
  const health = await bot.healthz();
  assert.equal(health.body.scheduler.stuck, 0, 'no probe outlived its deadline');

  // Each fake fping (and the sleep it started) is killed at its deadline: they do not pile up.
  const launches = () => readFileSync(pidFile, 'utf8').trim().split('\n').map((line) => line.split(' ').map(Number));
  const alive = launches().filter((pids) => !pids.every(isGone));
  assert.ok(launches().length >= 5, `the bot ran the fake fping ${launches().length} times`);
  assert.ok(alive.length <= 2, `${alive.length} of ${launches().length} fake fping runs still alive`);

  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
  await until(() => launches().flat().every(isGone), 'no fake fping left after the stop', 3_000);
});
