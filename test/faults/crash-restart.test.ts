/**
 * Scenario 2: kill -9 of the bot while the webhook receiver and Slack are down. After a restart
 * the pending alert is delivered, a target announced before the crash is not announced again,
 * and the saved states are there from the first moment.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeSlack } from '../fakes/slack-api.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';
import { baseConfig, killAllBots, sleep, startBot, startTcpListener, until, workspace, type BotProcess } from './harness.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CHANNEL = 'C0CRASH';

const space = workspace('crash');
after(async () => {
  await killAllBots();
  space.remove();
});

function downLine(bot: BotProcess, target: string) {
  return bot.lines.find((line) => line.notifier === 'log' && line.target === target && line.to === 'DOWN');
}

test('after kill -9 during a receiver outage, pending alerts are delivered and nothing already announced is sent again', { timeout: 60_000 }, async (t) => {
  const webhook = await startWebhookReceiver({ secret: SECRET });
  const slack = await startFakeSlack();
  // early: DOWN and delivered before the outage; late: DOWN during it, pending at the crash.
  const early = await startTcpListener();
  const late = await startTcpListener();
  t.after(() => Promise.all([webhook.close(), slack.close(), early.close(), late.close()]));
  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(join(space.dir, 'state')),
    slack: { botToken: slack.token, apiUrl: slack.apiUrl },
    notifiers: { log: { type: 'log' }, hook: { type: 'webhook', url: webhook.url, secret: SECRET }, ops: { type: 'slack', channel: CHANNEL } },
    delivery: { groupWait: '0s', maxBackoff: '500ms' },
    defaults: { interval: '200ms', retryInterval: '200ms', timeout: '300ms', failureThreshold: 2, successThreshold: 1, notify: ['log', 'hook', 'ops'] },
    targets: [
      { name: 'early', type: 'tcp', host: '127.0.0.1', port: early.port },
      { name: 'late', type: 'tcp', host: '127.0.0.1', port: late.port },
    ],
  });
  const hookTargets = () => webhook.requests.map((request) => `${(request.json as { target: string }).target} ${(request.json as { to: string }).to}`);
  const slackPosts = () => slack.callsOf('chat.postMessage').map((call) => String(call.args.text));

  let bot = await startBot({ configPath });
  await until(async () => (await bot.healthz()).body.targets.up === 2, 'both targets UP');
  await early.close();
  await until(() => webhook.requests.length === 1 && slackPosts().length === 1, 'the DOWN of "early" delivered');

  await webhook.down('refuse');
  await slack.down('refuse');
  await late.close();
  const lateDown = await bot.waitForLine((line) => line.notifier === 'log' && line.target === 'late' && line.to === 'DOWN', 'the DOWN of "late"');
  await until(() => bot.lines.filter((line) => line.msg === 'delivery failed; will retry').length >= 2, 'both deliveries of "late" failing');
  // States are saved every flushInterval; one saved after the DOWN holds it.
  await until(async () => (await bot.metrics()).value('probebot_state_store_last_flush_timestamp_seconds') * 1000 > lateDown.time, 'a state flush after the DOWN');

  const crash = await bot.kill9();
  assert.deepEqual(crash, { code: null, signal: 'SIGKILL' });
  assert.deepEqual(hookTargets(), ['early DOWN'], 'before the restart, only "early" got through');

  bot = await startBot({ configPath });
  const health = await bot.healthz();
  assert.equal(health.status, 200);
  assert.equal(health.body.targets.down, 2, 'both targets are DOWN right after the restart, before any probe');
  assert.ok(health.body.outbox.pending >= 2, `the alerts for "late" are still pending (${health.body.outbox.pending})`);
  assert.ok(bot.lines.some((line) => line.msg === 'undelivered alerts from the previous run will be delivered'), 'the restart says it has alerts to deliver');

  await webhook.up();
  await slack.up();
  await until(() => webhook.requests.length >= 2 && slackPosts().length >= 2, 'the pending DOWN of "late" delivered');
  // Both targets stay down and are probed every 200 ms: a second announcement would come within this.
  await sleep(1_500);
  assert.deepEqual(hookTargets(), ['early DOWN', 'late DOWN'], 'each DOWN reached the webhook once');
  assert.deepEqual(slackPosts().map((text) => /^🔴 (\S+) DOWN/.exec(text)?.[1]), ['early', 'late'], 'each DOWN reached Slack once');
  assert.ok(webhook.requests.every((request) => request.verified === true));
  const lateHook = webhook.requests[1]!.json as { incidentId: string; at: string };
  assert.equal(lateHook.at, lateDown.at, 'the delivered DOWN is the one raised before the crash');
  assert.equal(lateHook.incidentId, lateDown.incidentId);
  assert.equal(downLine(bot, 'early'), undefined, 'the restarted bot did not announce "early" again');
  assert.equal(downLine(bot, 'late'), undefined, 'the restarted bot did not announce "late" again');
  assert.equal((await bot.metrics()).value('probebot_outbox_pending'), 0);

  // The incidents opened before the crash are closed by the recoveries after it.
  await Promise.all([early.reopen(), late.reopen()]);
  await until(() => webhook.requests.length >= 4 && slack.callsOf('chat.update').length >= 2, 'both recoveries delivered');
  assert.equal(webhook.requests.length, 4);
  const recoveries = webhook.requests.slice(2).map((request) => request.json as { target: string; to: string; incidentId: string });
  assert.deepEqual(recoveries.map((event) => event.to), ['UP', 'UP']);
  assert.equal(recoveries.find((event) => event.target === 'late')?.incidentId, lateDown.incidentId);
  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
});

test(
  'kill -9 right after a DOWN, before the next state flush, opens no second incident',
  { timeout: 60_000 },
  async (t) => {
    const webhook = await startWebhookReceiver();
    const target = await startTcpListener();
    t.after(() => Promise.all([webhook.close(), target.close()]));
    const configPath = space.writeConfig('rules-slow-flush.yaml', {
      ...baseConfig(join(space.dir, 'state-slow-flush')),
      // The default flushInterval is 1s; 2s makes the kill land inside the window every time.
      state: { dir: join(space.dir, 'state-slow-flush'), flushInterval: '2s' },
      notifiers: { log: { type: 'log' }, hook: { type: 'webhook', url: webhook.url } },
      delivery: { groupWait: '0s', maxBackoff: '500ms' },
      defaults: { interval: '200ms', retryInterval: '200ms', timeout: '300ms', failureThreshold: 2, successThreshold: 1, notify: ['log', 'hook'] },
      targets: [{ name: 'db', type: 'tcp', host: '127.0.0.1', port: target.port }],
    });
    let bot = await startBot({ configPath });
    await until(async () => (await bot.healthz()).body.targets.up === 1, 'the target UP');
    // Its UP is saved: the restart below starts from UP, not from nothing.
    await until(async () => (await bot.metrics()).find('probebot_state_store_last_flush_timestamp_seconds') !== undefined, 'a first state flush', 5_000);
    await webhook.down('refuse');
    await target.close();
    const down = await bot.waitForLine((line) => line.notifier === 'log' && line.to === 'DOWN', 'the DOWN');
    await bot.kill9();

    await webhook.up();
    bot = await startBot({ configPath });
    const health = await bot.healthz();
    await until(() => webhook.requests.length >= 1, 'the pending DOWN delivered');
    await sleep(1_500);
    const delivered = webhook.requests.map((request) => request.json as { to: string; incidentId: string });
    assert.deepEqual(delivered.map((event) => [event.to, event.incidentId]), [['DOWN', down.incidentId]], 'one DOWN, for the incident raised before the crash');
    assert.equal(health.body.targets.down, 1, 'DOWN right after the restart');
    assert.deepEqual(await bot.stop(), { code: 0, signal: null });
  },
);
