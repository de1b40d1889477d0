/**
 * Scenario 1: the webhook receiver and Slack are down while several targets go DOWN and UP
 * twice each; when they come back, every transition arrives, in order per target, once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeSlack } from '../fakes/slack-api.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';
import { baseConfig, killAllBots, sleep, startBot, startTcpListener, until, workspace, type BotProcess, type LogLine } from './harness.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CHANNEL = 'C0FAULTS';
const TARGETS = ['alpha', 'beta', 'gamma'];
const CYCLES = 2;

const space = workspace('outage');
after(async () => {
  await killAllBots();
  space.remove();
});

/** What the log notifier (which cannot be down) said about one target, in order. */
function logged(bot: BotProcess, target: string): LogLine[] {
  return bot.lines.filter((line) => line.notifier === 'log' && line.target === target && line.kind === 'state');
}

interface HookEvent {
  eventId: string;
  target: string;
  to: string;
  at: string;
}

test('alerts raised while the webhook receiver and Slack are down all arrive once they are back, in order per target', { timeout: 60_000 }, async (t) => {
  const webhook = await startWebhookReceiver({ secret: SECRET });
  const slack = await startFakeSlack();
  const listeners = await Promise.all(TARGETS.map(() => startTcpListener()));
  t.after(() => Promise.all([webhook.close(), slack.close(), ...listeners.map((listener) => listener.close())]));

  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(join(space.dir, 'state')),
    slack: { botToken: slack.token, apiUrl: slack.apiUrl },
    notifiers: {
      log: { type: 'log' },
      // Grouped: the storm arrives as a few documents of several events, still in order.
      hook: { type: 'webhook', url: webhook.url, secret: SECRET, groupWait: '300ms' },
      ops: { type: 'slack', channel: CHANNEL, groupWait: '0s' },
    },
    delivery: { groupWait: '0s', maxBackoff: '500ms' },
    defaults: {
      interval: '200ms', retryInterval: '200ms', timeout: '300ms', failureThreshold: 2, successThreshold: 1,
      // Flap detection off: each DOWN and UP must be announced as itself.
      flap: { window: 100, high: 100, low: 99 },
      notify: ['log', 'hook', 'ops'],
    },
    targets: TARGETS.map((name, index) => ({ name, type: 'tcp', host: '127.0.0.1', port: listeners[index]!.port })),
  });

  const bot = await startBot({ configPath });
  await until(async () => (await bot.healthz()).body.targets.up === TARGETS.length, 'every target UP');
  await webhook.down('refuse');
  await slack.down('unavailable');

  // Each target goes DOWN and UP twice, staggered so their transitions interleave.
  await Promise.all(
    TARGETS.map(async (name, index) => {
      await sleep(index * 150);
      const listener = listeners[index]!;
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        await listener.close();
        await until(() => logged(bot, name).length >= 2 * cycle - 1, `${name} DOWN #${cycle}`);
        await listener.reopen();
        await until(() => logged(bot, name).length >= 2 * cycle, `${name} UP #${cycle}`);
      }
    }),
  );
  await until(
    () => ['hook', 'ops'].every((notifier) => bot.lines.some((line) => line.notifier === notifier && line.msg === 'delivery failed; will retry')),
    'both notifiers failing and retrying',
  );
  assert.equal(webhook.requests.length, 0, 'nothing reached the webhook receiver while it was down');
  assert.equal(slack.calls.length, 0, 'nothing reached Slack while it was down');
  const metrics = await bot.metrics();
  assert.ok(metrics.value('probebot_outbox_pending') > 0, 'alerts wait in the outbox');
  assert.equal(metrics.value('probebot_alerts_given_up_total'), 0);

  // Slack answers its first call after the outage with 429 Retry-After: 1.
  slack.rateLimit({ retryAfterSeconds: 1, count: 1 });
  await webhook.up();
  await slack.up();
  const expectedEvents = TARGETS.length * CYCLES * 2;
  const hookEvents = (): HookEvent[] => webhook.requests.flatMap((request) => {
    const body = request.json as HookEvent & { kind: string; events?: HookEvent[] };
    return body.kind === 'group' ? body.events! : [body];
  });
  const slackMessages = () => [...slack.messages.values()];
  await until(
    () => hookEvents().length >= expectedEvents && slackMessages().length >= expectedEvents,
    () => `every alert delivered: webhook ${hookEvents().length}, Slack ${slackMessages().length} of ${expectedEvents}`,
    20_000,
  );
  // Anything duplicated would arrive within a few retry periods.
  await sleep(1_000);

  assert.ok(webhook.requests.every((request) => request.verified === true), 'every webhook request is signed');
  assert.equal(new Set(webhook.requests.map((request) => request.headers['webhook-id'])).size, webhook.requests.length, 'no webhook document twice');
  assert.equal(new Set(hookEvents().map((event) => event.eventId)).size, expectedEvents, 'no event lost or repeated');
  const [limited, retried] = slack.calls;
  assert.ok(limited && retried, 'Slack was called after the outage');
  assert.ok(retried.at - limited.at >= 1_000, `the Slack retry honoured Retry-After: 1 (came after ${retried.at - limited.at}ms)`);

  for (const name of TARGETS) {
    const told = logged(bot, name).map((line) => ({ to: String(line.to), at: String(line.at) }));
    assert.deepEqual(told.map((event) => event.to), ['DOWN', 'UP', 'DOWN', 'UP'], `${name}: what the log notifier announced`);
    const viaHook = hookEvents().filter((event) => event.target === name).map((event) => ({ to: event.to, at: event.at }));
    assert.deepEqual(viaHook, told, `${name}: the webhook got the same transitions in the same order`);

    // Slack: each DOWN is a message, each recovery a reply in that message's thread, and the message shows it resolved.
    const inSlack = slackMessages().flatMap((message) => {
      if (message.threadTs === undefined && message.text?.includes(` ${name} `)) return [{ state: 'DOWN', thread: message.ts, message }];
      if (message.threadTs !== undefined && message.text?.includes(`*${name}* UP`)) return [{ state: 'UP', thread: message.threadTs, message }];
      return [];
    });
    assert.deepEqual(inSlack.map((entry) => entry.state), ['DOWN', 'UP', 'DOWN', 'UP'], `${name}: Slack messages in order`);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const [down, up] = [inSlack[2 * cycle]!, inSlack[2 * cycle + 1]!];
      assert.equal(up.thread, down.thread, `${name}: recovery #${cycle + 1} is in the thread of its DOWN`);
      assert.equal(down.message.updates, 1, `${name}: DOWN message #${cycle + 1} was updated once`);
      assert.match(down.message.text ?? '', new RegExp(`^✅ ${name} UP`), `${name}: DOWN message #${cycle + 1} now shows the recovery`);
    }
  }
  assert.equal((await bot.metrics()).value('probebot_outbox_pending'), 0, 'the outbox is empty again');
  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
});
