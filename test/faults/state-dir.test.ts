/**
 * Scenario 4: the state directory becomes unwritable while the bot runs. state.dir is a symlink
 * that the test re-points under a regular file, so every write fails with ENOTDIR (chmod would
 * not stop root). The bot says so once, keeps probing and alerting, and reports it in /metrics
 * and /healthz; when the directory is back, it saves again.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';
import { baseConfig, killAllBots, LOG_LEVEL, startBot, startTcpListener, until, workspace } from './harness.js';

const space = workspace('state-dir');
after(async () => {
  await killAllBots();
  space.remove();
});

/** Points `link` at `target`, replacing it in one rename. */
function repoint(link: string, target: string): void {
  const temp = `${link}.new`;
  symlinkSync(target, temp);
  renameSync(temp, link);
}

test('an unwritable state dir is reported once, in /metrics and /healthz, while probing and alerting go on', { timeout: 30_000 }, async (t) => {
  const webhook = await startWebhookReceiver();
  const target = await startTcpListener();
  const healthy = await startTcpListener();
  t.after(() => Promise.all([webhook.close(), target.close(), healthy.close()]));
  const realDir = join(space.dir, 'state-real');
  mkdirSync(realDir);
  const blocker = join(space.dir, 'not-a-dir');
  writeFileSync(blocker, 'a regular file: nothing can be created under it\n');
  const stateDir = join(space.dir, 'state');
  symlinkSync(realDir, stateDir);

  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(stateDir),
    notifiers: { log: { type: 'log' }, hook: { type: 'webhook', url: webhook.url } },
    delivery: { groupWait: '0s', maxBackoff: '500ms' },
    defaults: { interval: '200ms', retryInterval: '200ms', timeout: '300ms', failureThreshold: 2, successThreshold: 1, notify: ['log', 'hook'] },
    targets: [
      { name: 'db', type: 'tcp', host: '127.0.0.1', port: target.port },
      { name: 'cache', type: 'tcp', host: '127.0.0.1', port: healthy.port },
    ],
  });
  const bot = await startBot({ configPath });
  await until(async () => (await bot.healthz()).body.targets.up === 2, 'both targets UP');
  assert.equal((await bot.metrics()).value('probebot_state_store_failing'), 0);

  repoint(stateDir, join(blocker, 'state'));
  // "db" starts failing: a change a restart needs, so the store tries to save it. (A steady
  // target's new result alone is not saved, so without a change the failure could go unseen.)
  const cacheProbes = healthy.arrivals.length;
  await target.close();
  const failure = await bot.waitForLine((line) => /cannot save target states/.test(line.msg), 'the state store failure');
  assert.equal(failure.level, LOG_LEVEL.error);
  assert.match(failure.msg, /ENOTDIR/);
  assert.match(failure.msg, /keeping them in memory/);
  await until(async () => (await bot.metrics()).value('probebot_state_store_failing') === 1, 'probebot_state_store_failing 1');
  const degraded = await bot.healthz();
  assert.equal(degraded.status, 200, 'liveness holds: a restart would not fix a full or read-only disk');
  assert.equal(degraded.body.status, 'degraded');
  assert.equal(degraded.body.stateStore.failing, true);
  assert.ok(degraded.body.warnings.some((warning) => /cannot save target states.*ENOTDIR/.test(warning)), `a warning names the cause: ${degraded.body.warnings.join('; ')}`);

  // Probing and alerting go on: the outbox cannot be written either, and the alert still goes out.
  await until(() => webhook.requests.some((request) => (request.json as { target?: string }).target === 'db'), 'the DOWN of "db" at the webhook');
  const down = webhook.requests.find((request) => (request.json as { target?: string }).target === 'db')!.json as { to: string };
  assert.equal(down.to, 'DOWN');
  assert.ok(healthy.arrivals.length > cacheProbes, 'the healthy target is still probed');
  assert.ok(bot.lines.some((line) => line.msg === 'could not write alert to the outbox; delivering it anyway' && line.notifier === 'hook'), 'the outbox failure is logged');
  const storeFailures = bot.lines.filter((line) => /cannot save target states/.test(line.msg));
  assert.equal(storeFailures.length, 1, 'logged once, not at every flush');
  assert.equal((await bot.healthz()).body.targets.down, 1);

  repoint(stateDir, realDir);
  await bot.waitForLine((line) => /target states saved again/.test(line.msg), 'the state store recovering');
  await until(async () => (await bot.metrics()).value('probebot_state_store_failing') === 0, 'probebot_state_store_failing 0');
  const recovered = await bot.healthz();
  assert.equal(recovered.body.status, 'ok', recovered.body.warnings.join('; '));
  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
});
