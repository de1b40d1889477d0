import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import type { Target } from '../../src/config/schema.js';
import { lineFromEvent, renderAlertMessage, type TargetLine } from '../../src/slack/blocks.js';
import { ACTION_IDS, alertButtons } from '../../src/slack/buttons.js';
import { blockProblems } from '../fakes/slack-api.js';
import { startHttpTarget, type HttpTargetServer } from '../fakes/targets.js';
import { answerText, httpTarget, startHarness, type Harness } from './helpers.js';

const CHANNEL = 'C0ALERTS';
const alice = { id: 'U0ALICE', username: 'alice', name: 'alice', team_id: 'T0FAKE' };
const bob = { id: 'U0BOB', username: 'bob', name: 'bob', team_id: 'T0FAKE' };

/** Drives the target DOWN through the real state machine; returns its alert line. */
function goDown(h: Harness, target: Target): TargetLine {
  let line: TargetLine | undefined;
  for (let i = 0; i < target.failureThreshold; i++) {
    const result = { ok: false, latencyMs: 3, at: Date.now(), error: 'connect ECONNREFUSED 127.0.0.1:1' };
    h.port.record(target, result);
    const status = h.port.statusOf(target.name)!;
    if (status.state === 'DOWN') {
      line = lineFromEvent({
        id: 'e1', target: target.name, targetType: target.type, address: 'http://x', labels: {}, kind: 'state', from: 'UP', to: 'DOWN',
        at: status.since, result, reason: '3 consecutive failures', incidentId: status.incident!.id,
      });
    }
  }
  return line!;
}

/** Posts the alert as the Slack notifier does, with the app's buttons. */
async function postAlert(h: Harness, line: TargetLine): Promise<{ ts: string; text: string; blocks: unknown[] }> {
  const message = renderAlertMessage({ kind: 'transition', lines: [line] }, h.app.renderOptions);
  const web = new WebClient(h.fakeSlack.token, { slackApiUrl: h.fakeSlack.apiUrl, retryConfig: { retries: 0 } });
  const posted = await web.chat.postMessage({ channel: CHANNEL, text: message.text, blocks: message.blocks as never });
  const stored = h.fakeSlack.message(CHANNEL, posted.ts!)!;
  return { ts: posted.ts!, text: stored.text ?? '', blocks: stored.blocks ?? [] };
}

function buttonOf(blocks: unknown[], actionId: string): { action_id: string; value: string } | undefined {
  for (const block of blocks as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>) {
    const found = block.type === 'actions' ? block.elements?.find((element) => element.action_id === actionId) : undefined;
    if (found) return found as { action_id: string; value: string };
  }
  return undefined;
}

async function press(h: Harness, message: { ts: string; text: string; blocks: unknown[] }, actionId: string, user = alice) {
  const url = h.recorder.newUrl();
  const button = buttonOf(message.blocks, actionId);
  assert.ok(button, `the message has a ${actionId} button`);
  const answer = await h.client.blockAction({
    user,
    channel: { id: CHANNEL, name: 'alerts' },
    container: { type: 'message', message_ts: message.ts, channel_id: CHANNEL, is_ephemeral: false },
    message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
    response_url: url,
    trigger_id: '1.2.3',
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', text: { type: 'plain_text', text: 'x' }, value: button.value, action_ts: '1' }],
  });
  assert.equal(answer.status, 200);
  return url;
}

/** Waits (bounded) for something the app does in the background after acking. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('alert buttons', () => {
  let web: HttpTargetServer;
  before(async () => {
    web = await startHttpTarget({ body: 'ok' });
  });
  after(() => web.close());

  test('render on DOWN lines only, within Block Kit limits, never with a cut value', () => {
    const buttons = alertButtons();
    const down: TargetLine = { target: 'api', targetType: 'http', address: 'x', state: 'DOWN', since: 0, reason: 'r', labels: {}, incidentId: 'api@2026-01-01T00:00:00.000Z' };
    const made = buttons.targetActions!(down);
    assert.deepEqual(made.map((button) => button.action_id), [ACTION_IDS.acknowledge, ACTION_IDS.silence, ACTION_IDS.probe]);
    assert.deepEqual(JSON.parse(made[0]!.value!), { target: 'api', incident: 'api@2026-01-01T00:00:00.000Z' });
    assert.deepEqual(buttons.targetActions!({ ...down, state: 'UP' }), []);
    assert.deepEqual(buttons.targetActions!({ ...down, incidentId: undefined as never }), []);
    assert.deepEqual(buttons.targetActions!({ ...down, target: 'n'.repeat(2000) }), []);
    const group = renderAlertMessage({ kind: 'transition', lines: Array.from({ length: 60 }, (_, i) => ({ ...down, target: `t${i}` })) }, buttons);
    assert.deepEqual(blockProblems(group.blocks), []);
  });

  test('Acknowledge updates the message with who, and acknowledges the incident through the port', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)] });
    try {
      h.port.acknowledgeOutcome = { pagerDuty: [{ notifier: 'pd', ok: true }] };
      const line = goDown(h, h.port.targetList[0]!);
      const message = await postAlert(h, line);
      await press(h, message, ACTION_IDS.acknowledge);
      await eventually(() => h.fakeSlack.callsOf('chat.update').length === 1, 'chat.update');
      const updated = h.fakeSlack.message(CHANNEL, message.ts)!;
      const text = JSON.stringify(updated.blocks);
      assert.match(text, /✋ Acknowledged by <@U0ALICE> at <!date\^\d+.* · PagerDuty acknowledged/);
      assert.equal(buttonOf(updated.blocks!, ACTION_IDS.acknowledge), undefined, 'the Acknowledge button is gone');
      assert.ok(buttonOf(updated.blocks!, ACTION_IDS.silence) && buttonOf(updated.blocks!, ACTION_IDS.probe), 'the other buttons stay');
      assert.equal(updated.updates, 1);
      assert.deepEqual(h.port.acknowledged, [{ target: 'api', incidentId: line.incidentId, by: { id: 'U0ALICE', name: 'alice' } }]);
      const noteShown = (updated.blocks as Array<{ type: string; elements?: Array<{ text?: string }> }>).find((block) => block.type === 'context' && /Acknowledged by/.test(block.elements?.[0]?.text ?? ''));
      assert.deepEqual(h.port.acknowledgements, [{ incidentId: line.incidentId, note: noteShown?.elements?.[0]?.text }], 'the note shown is kept for later updates');
      assert.deepEqual(h.port.probed, []);
    } finally {
      await h.close();
    }
  });

  test('Silence 1h creates a silence by the presser and tells the channel', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)] });
    try {
      const message = await postAlert(h, goDown(h, h.port.targetList[0]!));
      const url = await press(h, message, ACTION_IDS.silence);
      const [answer] = await h.recorder.waitFor(url);
      assert.equal(answer!.response_type, 'in_channel');
      assert.equal(answer!.replace_original, false, 'the alert message is kept');
      assert.match(answerText(answer!), /Silenced \*api\* for 1h/);
      const [silence] = h.port.silences.list();
      assert.deepEqual(silence?.matcher, { target: 'api' });
      assert.equal(silence?.author, 'alice (U0ALICE)');
      assert.ok(Math.abs(silence!.until - (Date.now() + 3_600_000)) < 5000);
    } finally {
      await h.close();
    }
  });

  test('Probe now answers with a fresh result, for the presser only', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)] });
    try {
      const message = await postAlert(h, goDown(h, h.port.targetList[0]!));
      const connections = web.connections;
      const url = await press(h, message, ACTION_IDS.probe);
      const [answer] = await h.recorder.waitFor(url);
      assert.equal(answer!.response_type, 'ephemeral');
      assert.equal(answer!.replace_original, false);
      assert.match(answerText(answer!), /✅ \*api\* ok in \d+ ms[^]*🔴 DOWN since/);
      assert.equal(web.connections, connections + 1);
    } finally {
      await h.close();
    }
  });

  test('a user outside the allow lists is refused and nothing happens', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)], slack: { allow: { users: ['U0ALICE'] } } });
    try {
      const message = await postAlert(h, goDown(h, h.port.targetList[0]!));
      for (const action of [ACTION_IDS.acknowledge, ACTION_IDS.silence, ACTION_IDS.probe]) {
        const url = await press(h, message, action, bob);
        const [answer] = await h.recorder.waitFor(url);
        assert.match(answerText(answer!), /limited to certain people.*U0BOB/);
        assert.equal(answer!.replace_original, false);
      }
      assert.deepEqual(h.port.acknowledged, []);
      assert.deepEqual(h.port.silences.list(), []);
      assert.deepEqual(h.port.probed, []);
      assert.equal(h.fakeSlack.callsOf('chat.update').length, 0);
    } finally {
      await h.close();
    }
  });

  test('an incident that is over is not acknowledged', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)] });
    try {
      const target = h.port.targetList[0]!;
      const message = await postAlert(h, goDown(h, target));
      for (let i = 0; i < target.successThreshold; i++) h.port.record(target, { ok: true, latencyMs: 1, at: Date.now() });
      const [answer] = await h.recorder.waitFor(await press(h, message, ACTION_IDS.acknowledge));
      assert.match(answerText(answer!), /This incident is over; api is ✅ UP since/);
      assert.deepEqual(h.port.acknowledged, []);
      assert.equal(h.fakeSlack.callsOf('chat.update').length, 0);
    } finally {
      await h.close();
    }
  });

  test('a bad bot token shows at the first API error, as one clear log line, and the presser is told', async () => {
    const h = await startHarness({ targets: [httpTarget('api', web.url)], slack: { botToken: 'xoxb-revoked-or-wrong' } });
    try {
      const message = await postAlert(h, goDown(h, h.port.targetList[0]!));
      for (let attempt = 0; attempt < 2; attempt++) {
        const [answer] = await h.recorder.waitFor(await press(h, message, ACTION_IDS.acknowledge));
        assert.match(answerText(answer!), /Acknowledged, but the alert message could not be updated: invalid_auth: Slack rejected the bot token: check slack\.botToken/);
      }
      const errors = h.logs.problems().filter((line) => String(line.msg).includes('slack.botToken'));
      assert.equal(errors.length, 1, h.logs.text());
      assert.match(String(errors[0]!.msg), /^Slack chat\.update failed: invalid_auth: Slack rejected the bot token: check slack\.botToken/);
      assert.ok(!h.logs.text().includes('xoxb-revoked-or-wrong'), 'the token is not logged');
      assert.equal(h.port.acknowledged.length, 2, 'the acknowledgement itself went through');
    } finally {
      await h.close();
    }
  });
});
