import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { Bot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { nextGridPoint, phaseOffset } from '../../src/scheduler/phase.js';
import { FakeClock } from '../fakes/clock.js';

const NO_ICMP = { fping: null, ping: null };

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Waits for real I/O (a probe's socket) to settle; bounded. */
async function until(condition: () => boolean, what: string | (() => string)): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

function captureLog() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ destination: stream, pretty: false, level: 'info' }), lines };
}

const stateDir = mkdtempSync(join(tmpdir(), 'probebot-e2e-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

function configFor(port: number) {
  return parseConfig(
    `
server: { host: 127.0.0.1, port: 0 }
state: { dir: ${JSON.stringify(stateDir)} }
defaults: { interval: 10s, retryInterval: 1s, timeout: 1s, failureThreshold: 2, successThreshold: 1 }
targets:
  - { name: db, type: tcp, host: 127.0.0.1, port: ${port} }
`,
    'rules.yaml',
    {},
  );
}

test('a target going down is announced once, survives a restart without a new alert, and its recovery is announced', async () => {
  const resources = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').sort();
  const baseline = resources();
  let target = await listen();
  const port = (target.address() as { port: number }).port;
  const config = configFor(port);
  const clock = new FakeClock(Date.now());
  const { logger, lines } = captureLog();
  const transitions = () => lines.filter((line) => line.notifier === 'log' && line.kind === 'state');
  // The clock stops at db's tick and no further, so the probe's real connect always ends before
  // its 1 s deadline could fire, however slow the machine.
  const toNextTick = () => clock.advance(nextGridPoint(clock.now(), 10_000, phaseOffset('db', 10_000)) - clock.now());

  let bot = await Bot.start({ config, logger, icmpTools: NO_ICMP, clock });
  await toNextTick();
  await until(() => bot.statusOf('db')?.state === 'UP', 'the first probe');
  assert.equal(transitions().length, 0, 'a healthy start is silent');

  await close(target);
  // The first failure comes at the next tick, the second after retryInterval (1 s), well before
  // the following tick: only the retry interval gets the target DOWN this soon.
  await toNextTick();
  await until(() => bot.statusOf('db')?.consecutiveFailures === 1, 'the first failure');
  await clock.advance(1_000);
  await until(() => bot.statusOf('db')?.state === 'DOWN', 'DOWN after two failures');
  assert.deepEqual(bot.statusOf('db')?.history, [true, false, false]);
  await until(() => transitions().length === 1, 'the DOWN alert');
  const down = transitions()[0]!;
  assert.deepEqual([down.target, down.from, down.to], ['db', 'UP', 'DOWN']);
  assert.match(String(down.error), /ECONNREFUSED/);

  await bot.stop();
  bot = await Bot.start({ config, logger, icmpTools: NO_ICMP, clock });
  assert.equal(bot.statusOf('db')?.state, 'DOWN', 'state is restored after a restart');
  await toNextTick();
  await until(() => (bot.statusOf('db')?.consecutiveFailures ?? 0) >= 3, 'a failure after the restart');
  assert.equal(transitions().length, 1, 'still down after a restart: no new alert');

  target = await listen(port);
  await toNextTick();
  await until(() => bot.statusOf('db')?.state === 'UP', 'the recovery');
  await until(() => transitions().length === 2, 'the recovery alert');
  const up = transitions()[1]!;
  assert.deepEqual([up.target, up.from, up.to, up.incidentId], ['db', 'DOWN', 'UP', down.incidentId]);

  await bot.stop();
  await close(target);
  await until(() => resources().join() === baseline.join(), () => `handles back to baseline: ${resources().join()} vs ${baseline.join()}`);
  assert.deepEqual(resources(), baseline, 'stop leaves no timer, socket or child behind');
});
