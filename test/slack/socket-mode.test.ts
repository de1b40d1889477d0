import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../fakes/clock.js';
import { startFakeSocketMode, type FakeSocketMode } from '../fakes/socket-mode.js';
import { answerText, startHarness, type Harness } from './helpers.js';

async function socketHarness(fake: FakeSocketMode, extra: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  return startHarness({ ...extra, slack: { appToken: fake.appToken, apiUrl: fake.apiUrl, ...extra.slack } });
}

/** Waits (bounded) for something the app does in the background. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Slack app in Socket Mode', () => {
  test('connects through apps.connections.open, acks a slash command envelope and answers on response_url', async () => {
    const fake = await startFakeSocketMode();
    const connecting = fake.connection();
    const h = await socketHarness(fake);
    try {
      assert.equal(h.app.mode, 'socket');
      const peer = await connecting;
      assert.equal(fake.opens, 1);
      peer.send({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0FAKE' } });
      await eventually(() => h.logs.lines.some((line) => line.msg === 'Slack Socket Mode connected'), 'connected');
      const url = h.recorder.newUrl();
      peer.send({
        envelope_id: 'env-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: { command: '/probe', text: 'status', user_id: 'U0ALICE', user_name: 'alice', channel_id: 'C0OPS', team_id: 'T0FAKE', api_app_id: 'A0FAKE', response_url: url, trigger_id: '1.2.3' },
      });
      const ack = await peer.next();
      assert.equal(ack.envelope_id, 'env-1');
      assert.deepEqual(ack.payload, {});
      const [answer] = await h.recorder.waitFor(url);
      assert.match(answerText(answer!), /No targets are configured/);
      assert.ok(!h.logs.text().includes(fake.appToken), 'the app token is not logged');
      assert.ok(!h.logs.text().includes('fake-ticket'), 'the socket ticket is not logged');
    } finally {
      await h.close();
      await fake.close();
    }
  });

  test('startup does not wait for Slack; failed connections are retried with backoff', async () => {
    const fake = await startFakeSocketMode();
    fake.failOpens(2);
    const clock = new FakeClock();
    const connecting = fake.connection();
    const h = await socketHarness(fake, { clock, reconnectDelayMs: { first: 1000, max: 60_000 } });
    try {
      for (const attempt of [1, 2]) {
        await eventually(() => fake.opens === attempt && clock.pending === 1, `attempt ${attempt} failed and a retry is set`);
        await clock.advance(1000 * 2 ** (attempt - 1));
      }
      (await connecting).send({ type: 'hello' });
      await eventually(() => h.logs.lines.some((line) => line.msg === 'Slack Socket Mode connected again'), 'connected');
      assert.equal(fake.opens, 3);
      assert.equal(h.logs.problems().filter((line) => line.msg === 'Slack Socket Mode could not connect; retrying').length, 2);
    } finally {
      await h.close();
      await fake.close();
    }
  });

  test('a refused app token is reported once, in one line, and not retried', async () => {
    const fake = await startFakeSocketMode();
    const clock = new FakeClock();
    const h = await socketHarness(fake, { clock, slack: { appToken: 'xapp-wrong' } });
    try {
      await eventually(() => h.logs.problems().some((line) => String(line.msg).includes('slack.appToken')), 'the error line');
      const errors = h.logs.problems().filter((line) => line.level === 50);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]!.msg), /^Slack Socket Mode cannot connect: apps\.connections\.open answered invalid_auth; check slack\.appToken/);
      assert.equal(clock.pending, 0, 'no retry is set');
      assert.equal(fake.opens, 1);
    } finally {
      await h.close();
      await fake.close();
    }
  });
});
