import assert from 'node:assert/strict';
import { LogLevel, WebClient } from '@slack/web-api';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Notifier } from '../../../src/alerts/notifier.js';
import { createNotifier } from '../../../src/alerts/notifiers/index.js';
import type { SlackConfig } from '../../../src/config/schema.js';
import type { Logger } from '../../../src/log.js';
import { silentLogger } from '../../../src/log.js';
import type { SilenceApi } from '../../../src/alerts/delivery.js';
import type { Config } from '../../../src/config/schema.js';
import type { ProbeRegistry } from '../../../src/probes/index.js';
import { ACTION_IDS, alertButtons } from '../../../src/slack/buttons.js';
import { createSlackBotPort } from '../../../src/slack/bot-port.js';
import { blockProblems, startFakeSlack, type FakeSlack, type FakeSlackMessage } from '../../fakes/slack-api.js';
import { alertOf, captureLogs, downEvent, MemoryMemos, never, upEvent } from './fixtures.js';

const TOKEN = 'xoxb-1234-SECRET-token-never-logged';
const CHANNEL = 'C0ALERTS';

let slack: FakeSlack;
before(async () => {
  slack = await startFakeSlack({ token: TOKEN, channels: [CHANNEL] });
});
after(() => slack.close());
beforeEach(() => {
  slack.calls.length = 0;
  slack.messages.clear();
});

function slackSection(overrides: Partial<SlackConfig> = {}): SlackConfig {
  return { botToken: TOKEN, apiUrl: slack.apiUrl, command: '/probe', allow: { users: [], channels: [], userGroups: [] }, adhoc: { allow: [], ports: [] }, ...overrides };
}

function slackNotifier(options: { memos?: MemoryMemos; logger?: Logger; channel?: string; slack?: Partial<SlackConfig> } = {}): Notifier {
  return createNotifier('oncall', { type: 'slack', channel: options.channel ?? CHANNEL, mention: '<!subteam^S0ONCALL>' }, {
    logger: options.logger ?? silentLogger(),
    memos: options.memos ?? new MemoryMemos(),
    slack: slackSection(options.slack),
  });
}

function blockTexts(message: FakeSlackMessage | undefined): string {
  return JSON.stringify(message?.blocks ?? []);
}

function onlyPost(): FakeSlackMessage {
  const posts = [...slack.messages.values()];
  assert.equal(posts.length, 1, 'exactly one message posted');
  return posts[0]!;
}

describe('slack notifier', () => {
  test('a DOWN is posted with Block Kit within limits, the mention and a fallback text', async () => {
    const outcome = await slackNotifier().deliver(alertOf([downEvent('api')]), never);
    assert.deepEqual(outcome, { status: 'delivered' });
    const message = onlyPost();
    assert.equal(message.channel, CHANNEL);
    assert.match(message.text ?? '', /api DOWN: 3 consecutive failures/);
    assert.deepEqual(blockProblems(message.blocks), []);
    const blocks = blockTexts(message);
    assert.match(blocks, /🔴 api DOWN/);
    assert.match(blocks, /<!subteam\^S0ONCALL>/);
    assert.match(blocks, /127\.0\.0\.1:5432/);
    assert.match(blocks, /connect ECONNREFUSED/);
    assert.match(blocks, /team=core/);
    assert.equal(slack.callsOf('chat.postMessage')[0]?.token, TOKEN);
  });

  test('a recovery updates the same message to resolved and replies in its thread', async () => {
    const memos = new MemoryMemos();
    const notifier = slackNotifier({ memos });
    await notifier.deliver(alertOf([downEvent('api')]), never);
    const down = onlyPost();
    const outcome = await notifier.deliver(alertOf([upEvent('api')]), never);
    assert.deepEqual(outcome, { status: 'delivered' });
    const [update] = slack.callsOf('chat.update');
    assert.equal(update?.args.channel, CHANNEL);
    assert.equal(update?.args.ts, down.ts);
    const updated = slack.message(CHANNEL, down.ts);
    assert.equal(updated?.updates, 1);
    assert.match(blockTexts(updated), /✅ api UP after 5m/);
    assert.doesNotMatch(blockTexts(updated), /subteam/, 'no mention once resolved');
    const reply = [...slack.messages.values()].find((m) => m.threadTs === down.ts);
    assert.match(reply?.text ?? '', /api\* UP after 5m/);
    assert.deepEqual(memos.keys('oncall'), [], 'memos dropped once every target recovered');
  });

  test('after a restart the recovery still updates the message posted before it', async () => {
    const memos = new MemoryMemos();
    await slackNotifier({ memos }).deliver(alertOf([downEvent('db')]), never);
    const down = onlyPost();
    const restarted = slackNotifier({ memos });
    assert.deepEqual(await restarted.deliver(alertOf([upEvent('db')]), never), { status: 'delivered' });
    assert.equal(slack.callsOf('chat.update')[0]?.args.ts, down.ts);
    assert.equal(slack.message(CHANNEL, down.ts)?.updates, 1);
  });

  test('a recovery whose DOWN was never posted is a plain new message', async () => {
    assert.deepEqual(await slackNotifier().deliver(alertOf([upEvent('cache')]), never), { status: 'delivered' });
    assert.equal(slack.callsOf('chat.update').length, 0);
    const message = onlyPost();
    assert.equal(message.threadTs, undefined);
    assert.match(message.text ?? '', /cache UP after 5m/);
  });

  test('a group of 500 DOWNs is one message within limits naming the count and "and N more"', async () => {
    const memos = new MemoryMemos();
    const notifier = slackNotifier({ memos });
    const events = Array.from({ length: 500 }, (_, i) => downEvent(`host-${String(i).padStart(3, '0')}`, { targetType: 'icmp', address: `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
    assert.deepEqual(await notifier.deliver(alertOf(events), never), { status: 'delivered' });
    const message = onlyPost();
    assert.deepEqual(blockProblems(message.blocks), []);
    assert.ok((message.blocks?.length ?? 0) <= 50);
    const blocks = blockTexts(message);
    assert.match(blocks, /500 targets DOWN/);
    assert.match(blocks, /and 480 more/);
    assert.match(message.text ?? '', /500 targets DOWN/);

    const recovered = ['host-000', 'host-001', 'host-499'].map((name) => upEvent(name));
    assert.deepEqual(await notifier.deliver(alertOf(recovered), never), { status: 'delivered' });
    const updated = slack.message(message.channel, message.ts);
    assert.deepEqual(blockProblems(updated?.blocks), []);
    assert.match(blockTexts(updated), /497 targets DOWN, 3 UP/);
    assert.ok(memos.keys('oncall').includes(`message:${CHANNEL}:${message.ts}`), 'kept while targets are still DOWN');
  });

  test('an acknowledgement stays on its line when another target of the message recovers', async () => {
    const memos = new MemoryMemos();
    const notifier = createNotifier('oncall', { type: 'slack', channel: CHANNEL }, { logger: silentLogger(), memos, slack: slackSection(), slackActions: alertButtons() });
    await notifier.deliver(alertOf([downEvent('api'), downEvent('db')]), never);
    const message = onlyPost();
    const port = createSlackBotPort({
      config: () => ({ notifiers: { oncall: { type: 'slack', channel: CHANNEL }, pager: { type: 'webhook', url: 'http://127.0.0.1:9/' } } }) as unknown as Config,
      memos,
      statusOf: () => undefined,
      probes: undefined as unknown as ProbeRegistry,
      silences: undefined as unknown as SilenceApi,
      logger: silentLogger(),
    });
    port.recordAcknowledgement('inc-api', '✋ Acknowledged by <@U0ALICE>');
    assert.deepEqual(await notifier.deliver(alertOf([upEvent('db')]), never), { status: 'delivered' });
    const updated = slack.message(CHANNEL, message.ts);
    assert.equal(updated?.updates, 1);
    assert.deepEqual(blockProblems(updated?.blocks), []);
    const blocks = (updated?.blocks ?? []) as Array<{ type: string; elements?: Array<{ text?: string; action_id?: string; value?: string }> }>;
    const apiButtons = blocks.filter((block) => block.type === 'actions').flatMap((block) => block.elements ?? []).filter((button) => button.value?.includes('"api"'));
    assert.deepEqual(apiButtons.map((button) => button.action_id), [ACTION_IDS.silence, ACTION_IDS.probe], 'no Acknowledge button on the acknowledged line');
    const noteAt = blocks.findIndex((block) => block.type === 'context' && block.elements?.[0]?.text === '✋ Acknowledged by <@U0ALICE>');
    assert.ok(noteAt > 0, 'the note is still shown');
    assert.match(JSON.stringify(blocks[noteAt - 1]), /api/, 'under the api line');
    assert.equal(blocks.filter((block) => JSON.stringify(block).includes('Acknowledged by')).length, 1);
  });

  test('a dependent that goes down after its dependency was posted replies in that thread', async () => {
    const memos = new MemoryMemos();
    const notifier = slackNotifier({ memos });
    await notifier.deliver(alertOf([downEvent('router')]), never);
    const parent = onlyPost();
    await notifier.deliver(alertOf([downEvent('app', { suppressedBy: 'router' })]), never);
    const reply = [...slack.messages.values()].find((m) => m.ts !== parent.ts);
    assert.equal(reply?.threadTs, parent.ts);
    assert.match(reply?.text ?? '', /app\* DOWN \(depends on \*router\*\): 3 consecutive failures/);
    // Its recovery goes to the same thread, and leaves the parent message alone.
    await notifier.deliver(alertOf([upEvent('app')]), never);
    const replies = [...slack.messages.values()].filter((m) => m.threadTs === parent.ts);
    assert.equal(replies.length, 2);
    assert.equal(slack.callsOf('chat.update').length, 0);
  });

  test('dependents in their dependency\'s alert are folded into its line', async () => {
    const router = downEvent('router', { dependents: ['app', 'web'] });
    const events = [router, downEvent('app', { suppressedBy: 'router' }), downEvent('web', { suppressedBy: 'router' })];
    await slackNotifier().deliver(alertOf(events), never);
    const message = onlyPost();
    const blocks = blockTexts(message);
    assert.match(blocks, /🔴 router DOWN/);
    assert.match(blocks, /Dependents also down.*app, web/);
  });

  test('a reminder replies in the incident thread and shows in the channel', async () => {
    const notifier = slackNotifier();
    await notifier.deliver(alertOf([downEvent('api')]), never);
    const parent = onlyPost();
    await notifier.deliver(alertOf([downEvent('api')], { kind: 'reminder' }), never);
    const reply = [...slack.messages.values()].find((m) => m.threadTs === parent.ts);
    assert.equal(reply?.replyBroadcast, true);
    assert.match(reply?.text ?? '', /still DOWN/);
  });

  test('a test alert is marked [TEST] with a note and leaves no memos', async () => {
    const memos = new MemoryMemos();
    await slackNotifier({ memos }).deliver(alertOf([downEvent('api')], { kind: 'test' }), never);
    const message = onlyPost();
    assert.match(message.text ?? '', /^🔴 \[TEST\] api DOWN/);
    assert.match(blockTexts(message), /test alert sent by `probebot test-alert`/);
    assert.deepEqual(memos.keys('oncall'), []);
  });

  test('a 429 asks for a retry after Retry-After seconds', async () => {
    slack.rateLimit({ retryAfterSeconds: 7 });
    const outcome = await slackNotifier().deliver(alertOf([downEvent('api')]), never);
    assert.equal(outcome.status, 'retry');
    assert.equal(outcome.status === 'retry' ? outcome.retryAfterMs : undefined, 7000);
    assert.equal(slack.callsOf('chat.postMessage').length, 1, 'WebClient did not retry by itself');
  });

  test('ok:false ratelimited and a Slack outage ask for a retry', async () => {
    slack.failNext('chat.postMessage', 'ratelimited');
    assert.equal((await slackNotifier().deliver(alertOf([downEvent('api')]), never)).status, 'retry');
    await slack.down('unavailable');
    const unavailable = await slackNotifier().deliver(alertOf([downEvent('api')]), never);
    await slack.down('refuse');
    const refused = await slackNotifier().deliver(alertOf([downEvent('api')]), never);
    await slack.up();
    assert.deepEqual(unavailable, { status: 'retry', error: 'Slack answered HTTP 503' });
    assert.equal(refused.status, 'retry');
    assert.match(refused.status === 'retry' ? refused.error : '', /Slack unreachable/);
  });

  test('Slack\'s pace of one post per second per channel comes back as a retry after 1s', async () => {
    let now = 1_000_000;
    const paced = await startFakeSlack({ token: TOKEN, channelRateLimit: { perSecond: 1 }, now: () => now });
    try {
      const notifier = slackNotifier({ slack: { apiUrl: paced.apiUrl } });
      assert.deepEqual(await notifier.deliver(alertOf([downEvent('a')]), never), { status: 'delivered' });
      assert.deepEqual(await notifier.deliver(alertOf([downEvent('b')]), never), { status: 'retry', error: 'rate limited by Slack: retry after 1s', retryAfterMs: 1000 });
      now += 1000;
      assert.deepEqual(await notifier.deliver(alertOf([downEvent('b')]), never), { status: 'delivered' });
    } finally {
      await paced.close();
    }
  });

  test('a retry of a mixed alert posts the new DOWN without repeating the recovery', async () => {
    let now = 1_000_000;
    const paced = await startFakeSlack({ token: TOKEN, channelRateLimit: { perSecond: 1 }, now: () => now });
    try {
      const memos = new MemoryMemos();
      const notifier = slackNotifier({ memos, slack: { apiUrl: paced.apiUrl } });
      await notifier.deliver(alertOf([downEvent('api')]), never);
      now += 1000;
      const mixed = alertOf([upEvent('api'), downEvent('db')]);
      // The thread reply takes this second's post; the new message is paced back.
      assert.equal((await notifier.deliver(mixed, never)).status, 'retry');
      now += 1000;
      assert.deepEqual(await notifier.deliver(mixed, never), { status: 'delivered' });
      assert.equal(paced.callsOf('chat.update').length, 1);
      const posts = [...paced.messages.values()];
      assert.equal(posts.length, 3);
      assert.match(posts[2]?.text ?? '', /^🔴 db DOWN/);
      assert.deepEqual(memos.keys('oncall').sort(), ['incident:inc-db', `message:${CHANNEL}:${posts[2]?.ts}`, 'open:db']);
    } finally {
      await paced.close();
    }
  });

  test('recoveries of one grouped message delivered at once both show in it', async () => {
    const notifier = slackNotifier();
    await notifier.deliver(alertOf([downEvent('a'), downEvent('b'), downEvent('c')]), never);
    const message = onlyPost();
    slack.slowNext('chat.update', 100);
    await Promise.all([notifier.deliver(alertOf([upEvent('a')]), never), notifier.deliver(alertOf([upEvent('b')]), never)]);
    assert.match(blockTexts(slack.message(CHANNEL, message.ts)), /1 target DOWN, 2 UP/);
  });

  test('without a slack: section the notifier fails saying what to add', async () => {
    const notifier = createNotifier('oncall', { type: 'slack', channel: CHANNEL }, { logger: silentLogger(), memos: new MemoryMemos() });
    const outcome = await notifier.deliver(alertOf([downEvent('api')]), never);
    assert.match(outcome.status === 'failed' ? outcome.error : '', /no slack: section with a botToken/);
  });

  test('a retry after a partial failure does not repeat what already reached Slack', async () => {
    const notifier = slackNotifier();
    await notifier.deliver(alertOf([downEvent('api')]), never);
    const parent = onlyPost();
    const alert = alertOf([upEvent('api')]);
    slack.failNext('chat.postMessage', 'internal_error');
    assert.equal((await notifier.deliver(alert, never)).status, 'retry');
    assert.deepEqual(await notifier.deliver(alert, never), { status: 'delivered' });
    assert.equal(slack.callsOf('chat.update').length, 1, 'the update is not sent twice');
    assert.equal([...slack.messages.values()].filter((m) => m.threadTs === parent.ts).length, 1);
  });

  test('a recovery of a message deleted in Slack is posted as a new message', async () => {
    const memos = new MemoryMemos();
    const notifier = slackNotifier({ memos });
    await notifier.deliver(alertOf([downEvent('api')]), never);
    slack.messages.clear();
    assert.deepEqual(await notifier.deliver(alertOf([upEvent('api')]), never), { status: 'delivered' });
    assert.match(onlyPost().text ?? '', /api UP after 5m/);
    assert.deepEqual(memos.keys('oncall'), []);
  });

  test('channel_not_found fails with what to do, logged once across three alerts', async () => {
    const logs = captureLogs();
    const notifier = slackNotifier({ channel: 'C0MISSING', logger: logs.logger });
    const outcomes = [];
    for (const target of ['a', 'b', 'c']) outcomes.push(await notifier.deliver(alertOf([downEvent(target)]), never));
    for (const outcome of outcomes) assert.deepEqual(outcome, { status: 'failed', error: 'channel_not_found: invite the bot to C0MISSING or fix the channel ID' });
    const errors = logs.lines().filter((line) => line.level === 50);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.notifier, 'oncall');
  });

  test('a wrong bot token fails with invalid_auth, no token fails with not_authed', async () => {
    const wrong = await slackNotifier({ slack: { botToken: 'xoxb-wrong' } }).deliver(alertOf([downEvent('api')]), never);
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.status === 'failed' ? wrong.error : '', /^invalid_auth: .*slack\.botToken/);
    const none = await slackNotifier({ slack: { botToken: '' } }).deliver(alertOf([downEvent('api')]), never);
    assert.match(none.status === 'failed' ? none.error : '', /^not_authed/);
  });

  test('an aborted delivery asks for a retry', async () => {
    const controller = new AbortController();
    controller.abort();
    assert.equal((await slackNotifier().deliver(alertOf([downEvent('api')]), controller.signal)).status, 'retry');
  });

  test('the bot token never appears in the log, whatever happens', async () => {
    const logs = captureLogs();
    const memos = new MemoryMemos();
    const notifier = slackNotifier({ logger: logs.logger, memos });
    await notifier.deliver(alertOf([downEvent('api')]), never);
    await notifier.deliver(alertOf([upEvent('api')]), never);
    slack.rateLimit({ retryAfterSeconds: 1 });
    await notifier.deliver(alertOf([downEvent('api')]), never);
    await slack.down();
    await notifier.deliver(alertOf([downEvent('api')]), never);
    await slack.up();
    await slackNotifier({ logger: logs.logger, channel: 'C0NOPE' }).deliver(alertOf([downEvent('api')]), never);
    assert.ok(logs.text().length > 0, 'something was logged');
    assert.ok(!logs.text().includes('SECRET'), 'token absent from logs');
  });

  test('the fake answers auth.test and chat.postEphemeral as Slack does, and checks their arguments', async () => {
    const client = new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    const auth = await client.auth.test();
    assert.deepEqual([auth.ok, auth.user_id, auth.bot_id, auth.team_id], [true, 'U0BOT', 'B0BOT', 'T0FAKE']);
    const ephemeral = await client.chat.postEphemeral({ channel: CHANNEL, user: 'U123', text: 'only you' });
    assert.equal(ephemeral.ok, true);
    await assert.rejects(client.chat.postMessage({ channel: CHANNEL, text: '' }), /no_text/);
    await assert.rejects(client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }), /invalid_blocks/);
    await assert.rejects(client.chat.update({ channel: CHANNEL, ts: '1.2', text: 'x' }), /message_not_found/);
    assert.deepEqual(slack.calls.map((c) => c.method), ['auth.test', 'chat.postEphemeral', 'chat.postMessage', 'chat.postMessage', 'chat.update']);
  });
});
