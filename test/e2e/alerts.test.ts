import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Bot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../fakes/clock.js';
import { startFakePagerDuty } from '../fakes/pagerduty.js';
import { startFakeSlack } from '../fakes/slack-api.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';

const NO_ICMP = { fping: null, ping: null };
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

async function until(condition: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what()}`);
}

const stateDir = mkdtempSync(join(tmpdir(), 'probebot-alerts-e2e-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('DOWN then UP reaches Slack, PagerDuty and a webhook as their users expect, across restarts', async (t) => {
  const slack = await startFakeSlack();
  const pagerduty = await startFakePagerDuty();
  const webhook = await startWebhookReceiver({ secret: SECRET });
  t.after(() => Promise.all([slack.close(), pagerduty.close(), webhook.close()]));
  let target = await listen();
  const port = (target.address() as { port: number }).port;
  const config = parseConfig(
    `
server: { host: 127.0.0.1, port: 0 }
state: { dir: ${JSON.stringify(stateDir)} }
slack: { botToken: ${slack.token}, apiUrl: "${slack.apiUrl}" }
notifiers:
  ops: { type: slack, channel: C0123ABCD }
  pd: { type: pagerduty, routingKey: ${ROUTING_KEY}, url: "${pagerduty.enqueueUrl}" }
  hook: { type: webhook, url: "${webhook.url}/alerts", secret: ${SECRET} }
defaults: { interval: 10s, retryInterval: 1s, timeout: 1s, failureThreshold: 2, successThreshold: 1, notify: [ops, pd, hook] }
targets:
  - { name: db, type: tcp, host: 127.0.0.1, port: ${port}, labels: { team: storage } }
`,
    'rules.yaml',
    {},
  );
  const clock = new FakeClock(Date.now());
  const logger = silentLogger();
  const posts = () => slack.callsOf('chat.postMessage');
  const counts = () => `slack ${slack.calls.map((c) => c.method).join(',')}; pd ${pagerduty.events.length}; hook ${webhook.requests.length}`;

  let bot = await Bot.start({ config, logger, icmpTools: NO_ICMP, clock });
  // A failed assertion must not leave a bot running and the test process with it.
  t.after(() => bot.stop());
  await clock.advance(10_000);
  await until(() => bot.statusOf('db')?.state === 'UP', () => 'first probe');

  await close(target);
  await clock.advance(10_000);
  // The retry is planned when the failed probe's result arrives, which may be after advance() ended.
  await until(() => (bot.statusOf('db')?.consecutiveFailures ?? 0) >= 1, () => 'the first failure');
  await clock.advance(1_000);
  await until(() => posts().length === 1 && pagerduty.events.length === 1 && webhook.requests.length === 1, counts);
  const post = posts()[0]!;
  assert.equal(post.args.channel, 'C0123ABCD');
  assert.match(String(post.args.text), /db/);
  assert.equal(post.token, slack.token);
  const trigger = pagerduty.events[0]!;
  assert.equal(trigger.event_action, 'trigger');
  assert.equal(trigger.payload?.component, 'db');
  assert.equal(trigger.payload?.group, 'storage');
  const firstHook = webhook.requests[0]!;
  assert.equal(firstHook.verified, true, firstHook.verifyError);
  assert.deepEqual(
    [(firstHook.json as { target: string }).target, (firstHook.json as { to: string }).to],
    ['db', 'DOWN'],
  );

  // Restart while the incident is open: nothing is announced again.
  await bot.stop();
  bot = await Bot.start({ config, logger, icmpTools: NO_ICMP, clock });
  await clock.advance(10_000);
  await until(() => (bot.statusOf('db')?.consecutiveFailures ?? 0) >= 3, () => 'a failure after the restart');
  assert.equal(posts().length, 1, counts());
  assert.equal(pagerduty.events.length, 1, counts() + JSON.stringify(pagerduty.events) + JSON.stringify(webhook.requests.map((r) => [r.headers["webhook-id"], r.json])));
  assert.equal(webhook.requests.length, 1, counts());

  // The target recovers while the bot is stopped: exactly one resolution after the start.
  await bot.stop();
  target = await listen(port);
  bot = await Bot.start({ config, logger, icmpTools: NO_ICMP, clock });
  await clock.advance(10_000);
  await until(
    // The thread reply is posted one Slack call after the update.
    () => slack.callsOf('chat.update').length === 1 && posts().some((call) => call.args.thread_ts !== undefined) && pagerduty.events.length === 2 && webhook.requests.length === 2,
    counts,
  );
  const update = slack.callsOf('chat.update')[0]!;
  assert.deepEqual([update.args.channel, update.args.ts], [post.args.channel, slack.messages.values().next().value!.ts]);
  const replies = posts().filter((call) => call.args.thread_ts !== undefined);
  assert.equal(replies.length, 1, 'one reply in the thread of the DOWN message');
  assert.equal(replies[0]!.args.thread_ts, update.args.ts);
  const resolve = pagerduty.events[1]!;
  assert.equal(resolve.event_action, 'resolve');
  assert.equal(resolve.dedup_key, trigger.dedup_key, 'PagerDuty pairs trigger and resolve by dedup_key');
  assert.equal(pagerduty.alerts.get(trigger.dedup_key), 'resolved');
  const secondHook = webhook.requests[1]!;
  assert.equal(secondHook.verified, true);
  assert.equal((secondHook.json as { to: string }).to, 'UP');
  assert.notEqual(secondHook.headers['webhook-id'], firstHook.headers['webhook-id']);

  await bot.stop();
  await close(target);
  assert.equal(posts().length, 2, 'the DOWN message and its thread reply, nothing else');
});
