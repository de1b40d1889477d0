import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { Bot } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../fakes/clock.js';
import { FakeSlackClient, startResponseRecorder } from '../fakes/slack-client.js';
import { startFakeSlack } from '../fakes/slack-api.js';

const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const dir = mkdtempSync(join(tmpdir(), 'probebot-slack-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A running bot with the Slack app over a fake Slack, one TCP target "db", and a response_url recorder. */
async function slackBot(t: TestContext, stateDir: string) {
  const slack = await startFakeSlack();
  const recorder = await startResponseRecorder();
  const target: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const counter = { connections: 0 };
  target.on('connection', () => counter.connections++);
  t.after(() => Promise.all([slack.close(), recorder.close(), new Promise((resolve) => target.close(resolve))]));
  const port = (target.address() as { port: number }).port;
  const config = parseConfig(
    `server: { host: 127.0.0.1, port: 0 }
state: { dir: ${JSON.stringify(stateDir)} }
slack: { botToken: ${slack.token}, signingSecret: ${SIGNING_SECRET}, apiUrl: "${slack.apiUrl}" }
targets:
  - { name: db, type: tcp, host: 127.0.0.1, port: ${port}, interval: 1h }
`,
    'rules.yaml',
    {},
  );
  const bot = await Bot.start({ config, logger: silentLogger(), icmpTools: { fping: null, ping: null }, clock: new FakeClock(Date.now()) });
  t.after(() => bot.stop());
  const client = new FakeSlackClient(`http://127.0.0.1:${bot.port}/slack/events`, SIGNING_SECRET);
  return { slack, recorder, bot, client, counter };
}

test('the running bot answers a signed /probe with a fresh result and refuses an unsigned one', async (t) => {
  const { slack, recorder, bot, client, counter } = await slackBot(t, dir);

  const unsigned = await client.slashCommand({ text: 'db', response_url: recorder.newUrl() }, { secret: 'wrong-secret' });
  assert.equal(unsigned.status, 401);
  assert.equal(counter.connections, 0, 'a request with a bad signature probes nothing');
  const url = recorder.newUrl();
  const ack = await client.slashCommand({ text: 'db', response_url: url });
  assert.equal(ack.status, 200);
  const [answer] = await recorder.waitFor(url, 1);
  assert.equal(counter.connections, 1, 'one on-demand probe');
  assert.match(JSON.stringify(answer), /db/);
  assert.equal(answer?.response_type ?? 'ephemeral', 'ephemeral');
  assert.equal(bot.statusOf('db')?.state, 'UNKNOWN', 'an on-demand probe does not change the target state');
  assert.equal(slack.calls.filter((call) => call.method === 'auth.test').length, 0, 'startup does not call auth.test');
});

test('a burst of 50 commands is acknowledged and every one answered', async (t) => {
  const { recorder, client } = await slackBot(t, join(dir, 'burst'));

  const urls = Array.from({ length: 50 }, () => recorder.newUrl());
  const acks = await Promise.all(urls.map((url) => client.slashCommand({ text: 'db', response_url: url })));
  assert.deepEqual(acks.map((ack) => ack.status), urls.map(() => 200));
  for (const url of urls) assert.match(JSON.stringify((await recorder.waitFor(url, 1))[0]), /db/);
});
