/**
 * Scenario 5c: correctly signed but unknown or malformed requests at POST /slack/events. Each
 * is answered (2xx or 4xx; a request no listener takes gets Bolt's 404 after its 3 s wait),
 * nothing crashes, and the bot goes on probing. Interactive payloads missing the fields Bolt
 * routes by (`user`, `view`, an `event` object) get Bolt's own 500: tolerated here, see the
 * fault-suite report; what matters to users is that the bot lives on.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startFakeSlack } from '../fakes/slack-api.js';
import { baseConfig, killAllBots, LOG_LEVEL, startBot, startTcpListener, until, workspace } from './harness.js';

const SIGNING_SECRET = 'fault-suite-signing-secret';
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

const space = workspace('slack');
after(async () => {
  await killAllBots();
  space.remove();
});

/** Slack's v0 signature over the raw body, with the current time. */
function signed(body: Buffer): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
  return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature };
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const deepJson = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

interface Garbage {
  name: string;
  type: string;
  body: string | Buffer;
  /** Bolt answers 500 for payloads it cannot route; everything else must get 2xx or 4xx. */
  boltMayFail?: boolean;
}

function garbage(responseUrl: string): Garbage[] {
  const button = (extra: Record<string, unknown>) => form({ payload: JSON.stringify({ type: 'block_actions', actions: [{ action_id: 'probebot_probe_now', type: 'button', value: '{"target":"db"}' }], ...extra }) });
  return [
    { name: 'empty form', type: FORM, body: '' },
    { name: 'binary', type: 'application/octet-stream', body: Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 131 + 7) % 256)) },
    { name: 'payload that is not JSON', type: FORM, body: form({ payload: '{"type": "block_actions", ' }) },
    { name: 'payload of an unknown type', type: FORM, body: form({ payload: JSON.stringify({ type: 'mystery_type', token: 'x' }) }) },
    { name: 'payload that is a JSON string', type: FORM, body: form({ payload: '"just a string"' }) },
    // A body that parses to null stopped the whole bot (an unhandled rejection in Bolt); now no non-object reaches Bolt.
    { name: 'payload that is null', type: FORM, body: form({ payload: 'null' }) },
    { name: 'JSON null', type: JSON_TYPE, body: 'null' },
    { name: 'JSON number', type: JSON_TYPE, body: '42' },
    { name: 'button press without user or channel', type: FORM, body: button({}), boltMayFail: true },
    { name: 'view submission without a view', type: FORM, body: form({ payload: JSON.stringify({ type: 'view_submission', user: { id: 'U1' } }) }), boltMayFail: true },
    { name: 'event that is a string', type: JSON_TYPE, body: JSON.stringify({ type: 'event_callback', event: 'mystery' }), boltMayFail: true },
    { name: 'button press with a garbage value', type: FORM, body: form({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, response_url: responseUrl, actions: [{ action_id: 'probebot_acknowledge', type: 'button', value: '\u0000{{{' }] }) }) },
    { name: 'button press with actions not a list', type: FORM, body: form({ payload: JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: 'nope' }) }) },
    { name: 'unknown slash command', type: FORM, body: form({ command: '/not-ours', text: 'hello', user_id: 'U1', response_url: responseUrl }) },
    { name: 'slash command without user or response_url', type: FORM, body: form({ command: '/probe', text: 'status' }) },
    { name: 'slash command with binary text', type: FORM, body: form({ command: '/probe', text: '\u0000\u0001\u00ff'.repeat(20_000), user_id: 'U1', channel_id: 'C1', response_url: responseUrl }) },
    { name: 'slash command with a repeated field', type: FORM, body: 'command=/probe&command=/probe&text=help&text=status&user_id=U1&response_url=' + encodeURIComponent(responseUrl) },
    { name: 'event of an unknown type', type: JSON_TYPE, body: JSON.stringify({ type: 'event_callback', event: { type: 'mystery_event' } }) },
    { name: 'truncated JSON', type: JSON_TYPE, body: '{"type": "event_callback", "event": {' },
    { name: 'deeply nested JSON', type: JSON_TYPE, body: deepJson(50_000) },
    { name: 'deeply nested payload', type: FORM, body: form({ payload: deepJson(50_000) }) },
    { name: 'JSON array', type: JSON_TYPE, body: '[1, 2, 3]' },
    { name: 'no content type', type: '', body: 'hello' },
    { name: 'body over the size limit', type: FORM, body: form({ payload: 'x'.repeat(2 * 1024 * 1024) }) },
  ];
}

test('signed garbage at /slack/events is answered and the bot keeps running', { timeout: 60_000 }, async (t) => {
  const slack = await startFakeSlack();
  const target = await startTcpListener();
  t.after(() => Promise.all([slack.close(), target.close()]));
  const configPath = space.writeConfig('rules.yaml', {
    ...baseConfig(join(space.dir, 'state')),
    slack: { botToken: slack.token, signingSecret: SIGNING_SECRET, apiUrl: slack.apiUrl },
    defaults: { interval: '200ms', timeout: '300ms' },
    targets: [{ name: 'db', type: 'tcp', host: '127.0.0.1', port: target.port }],
  });
  const bot = await startBot({ configPath });
  await bot.waitForLine((line) => line.msg === 'slack app started', 'the Slack app');

  const answers = await Promise.all(
    garbage(`${slack.url}/response`).map(async (request) => {
      const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
      const headers: Record<string, string> = { ...signed(body) };
      if (request.type !== '') headers['content-type'] = request.type;
      const started = Date.now();
      const response = await fetch(bot.url('/slack/events'), { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      return { ...request, status: response.status, ms: Date.now() - started, text: text.slice(0, 80) };
    }),
  );
  for (const answer of answers) t.diagnostic(`${answer.name}: ${answer.status} in ${answer.ms}ms ${JSON.stringify(answer.text)}`);
  for (const answer of answers) {
    const allowed = answer.status >= 200 && answer.status < 500 || (answer.boltMayFail === true && answer.status === 500);
    assert.ok(allowed, `${answer.name}: answered ${answer.status} ${answer.text}`);
  }
  const refused = (name: string) => answers.find((answer) => answer.name === name)?.status;
  assert.deepEqual(['payload that is null', 'JSON null', 'JSON number'].map(refused), [400, 400, 400], 'bodies that are not objects are refused');
  assert.equal(refused('body over the size limit'), 413);

  // Still alive, healthy and probing.
  const probesBefore = target.arrivals.length;
  const health = await bot.healthz();
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  await until(() => target.arrivals.length >= probesBefore + 3, 'probing goes on');
  const fatal = bot.lines.filter((line) => line.level >= LOG_LEVEL.fatal);
  assert.deepEqual(fatal, [], 'no fatal log line');
  assert.equal(bot.stderr(), '', 'nothing on stderr');
  assert.deepEqual(await bot.stop(), { code: 0, signal: null });
});
