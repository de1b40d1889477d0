import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { createServer as createTlsServer } from 'node:tls';
import { runInNewContext } from 'node:vm';
import { after, before, test } from 'node:test';
import { Bot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { selfSignedCertificate } from '../fakes/certs.js';
import { nextGridPoint, phaseOffset } from '../../src/scheduler/phase.js';
import { FakeClock } from '../fakes/clock.js';

const NO_ICMP = { fping: null, ping: null };
let open: Server;
let openPort = 0;
let closedPort = 0;
const dirs: string[] = [];

before(async () => {
  open = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
  openPort = (open.address() as { port: number }).port;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});
after(() => {
  open.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'probebot-reload-'));
  dirs.push(dir);
  return dir;
}

function config(dir: string, targets: string, defaults = 'interval: 10s, retryInterval: 1s, timeout: 1s, failureThreshold: 1, successThreshold: 1') {
  return parseConfig(`server: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${JSON.stringify(dir)} }\ndefaults: { ${defaults} }\ntargets:\n${targets}`, 'rules.yaml', {});
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a reload keeps unchanged and same-probe targets, resolves removed DOWN targets, starts new ones UNKNOWN', async () => {
  const dir = stateDir();
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logger = createLogger({ destination: stream, pretty: false });
  const clock = new FakeClock(Date.now());
  const first = config(
    dir,
    `  - { name: keep, type: tcp, host: 127.0.0.1, port: ${closedPort} }
  - { name: tune, type: tcp, host: 127.0.0.1, port: ${closedPort} }
  - { name: move, type: tcp, host: 127.0.0.1, port: ${closedPort} }
  - { name: gone, type: tcp, host: 127.0.0.1, port: ${closedPort} }
`,
  );
  const bot = await Bot.start({ config: first, logger, icmpTools: NO_ICMP, clock });
  try {
    await clock.advance(10_000);
    await until(() => ['keep', 'tune', 'move', 'gone'].every((name) => bot.statusOf(name)?.state === 'DOWN'), 'all four DOWN');
    const keepIncident = bot.statusOf('keep')?.incident?.id;
    const tuneIncident = bot.statusOf('tune')?.incident?.id;

    const plan = await bot.reload(
      config(
        dir,
        `  - { name: keep, type: tcp, host: 127.0.0.1, port: ${closedPort} }
  - { name: tune, type: tcp, host: 127.0.0.1, port: ${closedPort}, failureThreshold: 5, interval: 20s }
  - { name: move, type: tcp, host: 127.0.0.1, port: ${openPort} }
  - { name: fresh, type: tcp, host: 127.0.0.1, port: ${openPort} }
`,
      ),
    );
    assert.deepEqual(
      { added: plan.added.map((t) => t.name), removed: plan.removed.map((t) => t.name), changed: plan.changed.map((c) => [c.after.name, c.sameProbe]), unchanged: plan.unchanged.map((t) => t.name) },
      { added: ['fresh'], removed: ['gone'], changed: [['tune', true], ['move', false]], unchanged: ['keep'] },
    );
    assert.equal(bot.statusOf('keep')?.incident?.id, keepIncident, 'unchanged target keeps its open incident');
    assert.equal(bot.statusOf('tune')?.state, 'DOWN');
    assert.equal(bot.statusOf('tune')?.incident?.id, tuneIncident, 'same probe, new settings: state kept');
    assert.equal(bot.statusOf('move')?.state, 'UNKNOWN', 'a different address is a new target');
    assert.equal(bot.statusOf('fresh')?.state, 'UNKNOWN');
    assert.equal(bot.statusOf('gone'), undefined);
    await until(() => lines.some((line) => line.notifier === 'log' && line.target === 'gone' && line.to === 'UP'), 'the removed target resolved');
    const resolved = lines.find((line) => line.notifier === 'log' && line.target === 'gone' && line.to === 'UP')!;
    assert.equal(resolved.reason, 'removed from config');
    assert.equal(bot.config.targets.length, 4);
  } finally {
    await bot.stop();
  }
});

test('a reload reads caFile again at once: a replaced CA is used by the next probe', async () => {
  const [server, stranger] = await Promise.all([selfSignedCertificate(365), selfSignedCertificate(365, 'stranger')]);
  const tls = createTlsServer(server, (socket) => socket.end());
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  const dir = stateDir();
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, stranger.cert);
  const targets = `  - { name: secure, type: tls, host: 127.0.0.1, port: ${(tls.address() as { port: number }).port}, caFile: ${JSON.stringify(caFile)} }\n`;
  const clock = new FakeClock(Date.now());
  // Up to the tick and no further: the TLS handshake is real, and a later deadline would abort it.
  const toNextTick = () => clock.advance(nextGridPoint(clock.now(), 10_000, phaseOffset('secure', 10_000)) - clock.now());
  const bot = await Bot.start({ config: config(dir, targets), logger: silentLogger(), icmpTools: NO_ICMP, clock });
  try {
    await toNextTick();
    await until(() => bot.statusOf('secure')?.state === 'DOWN', 'DOWN while the CA file holds another certificate');
    assert.match(bot.statusOf('secure')?.lastResult?.error ?? '', /certificate/);
    writeFileSync(caFile, server.cert);
    await bot.reload(config(dir, targets));
    // Well inside the five minutes a cached context would otherwise be kept.
    await toNextTick();
    await until(() => bot.statusOf('secure')?.state === 'UP', 'UP with the replaced CA file');
  } finally {
    await bot.stop();
    tls.close();
  }
});

test('100 reloads under probing leave no timers, sockets or heap behind', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = stateDir();
  const targetsA = Array.from({ length: 20 }, (_, i) => `  - { name: t${i}, type: tcp, host: 127.0.0.1, port: ${openPort} }\n`).join('');
  const targetsB = Array.from({ length: 20 }, (_, i) => `  - { name: t${i + 5}, type: tcp, host: 127.0.0.1, port: ${openPort}, timeout: 900ms }\n`).join('');
  const defaults = 'interval: 20ms, timeout: 1s';
  const configs = [config(dir, targetsA, defaults), config(dir, targetsB, defaults)];
  const resources = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap');
  const bot = await Bot.start({ config: configs[0]!, logger: silentLogger(), icmpTools: NO_ICMP });
  try {
    for (let i = 0; i < 10; i++) await bot.reload(configs[(i + 1) % 2]!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc();
    const heapAfter10 = process.memoryUsage().heapUsed;
    for (let i = 10; i < 100; i++) await bot.reload(configs[(i + 1) % 2]!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc();
    const heapAfter100 = process.memoryUsage().heapUsed;
    const timersAfter100 = resources().filter((kind) => kind === 'Timeout').length;
    // Each of the 20 jobs holds at most its next tick and the deadline of a run in flight; a timer
    // leaked per reload would add 90 more.
    assert.ok(timersAfter100 <= 2 * 20 + 10, `${timersAfter100} timers for 20 targets after 100 reloads`);
    const growthMiB = (heapAfter100 - heapAfter10) / 1024 / 1024;
    assert.ok(growthMiB < 4, `heap grew ${growthMiB.toFixed(1)} MiB over 90 reloads`);
    assert.equal(bot.config.targets.length, 20);
    assert.ok(bot.statuses().every((status) => status.target.startsWith('t')));
  } finally {
    await bot.stop();
  }
  // A destroyed socket's handle closes on a later turn of the event loop.
  const sockets = () => resources().filter((kind) => kind === 'TCPSocketWrap' || kind === 'ProcessWrap').length;
  await until(() => sockets() === 0, 'no socket or child left after stop');
});
