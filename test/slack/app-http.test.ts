import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHttpTarget, type HttpTargetServer } from '../fakes/targets.js';
import { answerText, httpTarget, SIGNING_SECRET, startHarness, tcpTarget, type Harness } from './helpers.js';

const NOW_S = () => Math.floor(Date.now() / 1000);

describe('Slack app over HTTP: /slack/events on the bot server', () => {
  let target: HttpTargetServer;
  let h: Harness;

  before(async () => {
    target = await startHttpTarget({ body: 'ok', delayMs: 30 });
    h = await startHarness({
      targets: [
        httpTarget('api', `${target.url}/health`, { labels: { team: 'core' } }),
        tcpTarget('db', '127.0.0.1', 9, { labels: { team: 'data' } }),
      ],
    });
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  test('starting the app calls nothing at Slack (no auth.test)', () => {
    assert.deepEqual(h.fakeSlack.calls.map((call) => call.method), []);
  });

  test('requests failing the signature check get 401 and do nothing', async () => {
    const connectionsBefore = target.connections;
    const url = h.recorder.newUrl();
    const body = new URLSearchParams({ command: '/probe', text: 'api', user_id: 'U0ALICE', user_name: 'alice', channel_id: 'C0OPS', response_url: url }).toString();
    const attempts = [
      h.client.post(body, { secret: 'not-the-signing-secret' }),
      h.client.post(body, { omit: ['timestamp'] }),
      h.client.post(body, { omit: ['signature'] }),
      h.client.post(body, { timestamp: NOW_S() - 301 }),
      // Well past 300 s, so a second boundary crossed under load cannot bring it back inside.
      h.client.post(body, { timestamp: NOW_S() + 330 }),
      h.client.post(body, { signature: `v0=${'0'.repeat(64)}` }),
      h.client.post(body.replace('text=api', 'text=db'), { signature: (await signedFor(body)).signature }),
    ];
    for (const [index, answer] of (await Promise.all(attempts)).entries()) assert.equal(answer.status, 401, `attempt ${index}`);
    // A good command afterwards: once it is answered, anything the refused ones started would have shown.
    const answer = await h.command('db');
    assert.match(answerText(answer), /db/);
    assert.deepEqual(h.recorder.posted(url), []);
    assert.equal(target.connections, connectionsBefore, 'the api target saw no probe');
    assert.deepEqual(h.port.probed.map((probed) => probed.name), ['db']);
    assert.deepEqual(h.fakeSlack.calls, []);
    const warnings = h.logs.problems().filter((line) => line.msg === 'Slack request refused: bad signature');
    assert.equal(warnings.length, 1, 'refusals are logged once a minute at most');
    h.port.probed.length = 0;
  });

  test('a timestamp 5 minutes old or ahead is still accepted, and a charset suffix is fine', async () => {
    const url = h.recorder.newUrl();
    const ok = await h.client.slashCommand({ text: 'help', response_url: url }, { timestamp: NOW_S() + 295, contentType: 'application/x-www-form-urlencoded; charset=utf-8' });
    assert.equal(ok.status, 200);
    assert.match(answerText((await h.recorder.waitFor(url))[0]!), /status \[label=value\]/);
  });

  test("Slack's ssl_check is answered without work; other methods and oversized bodies are refused", async () => {
    assert.equal((await h.client.post('ssl_check=1&token=x', { omit: ['signature', 'timestamp'] })).status, 200);
    assert.equal((await fetch(h.client.eventsUrl)).status, 405);
    assert.equal((await h.client.post(`text=${'x'.repeat(2 * 1024 * 1024)}`)).status, 413);
  });

  test('/probe api runs the real probe now and answers its latency and the state, leaving the state alone', async () => {
    await h.port.scheduledProbe('api');
    const before = structuredClone(h.port.statusOf('api'));
    const connectionsBefore = target.connections;
    const answer = await h.command('api');
    const text = answerText(answer);
    assert.equal(answer.response_type, 'ephemeral');
    const latency = Number(/ok in (\d+) ms/.exec(text)?.[1]);
    assert.ok(latency >= 30, `latency ${latency} ms includes the target's 30 ms delay`);
    assert.match(text, /\*Latency\*\\n\d+ ms \(connect [\d.]+ms, firstByte [\d.]+ms/);
    assert.match(text, /\*State\*\\n✅ UP since <!date/);
    assert.match(text, /status 200/);
    assert.equal(target.connections, connectionsBefore + 1);
    assert.deepEqual(h.port.statusOf('api'), before, 'counters, history and latencies unchanged');
  });

  test('--public answers in the channel; a failing target says why', async () => {
    assert.equal((await h.command('api --public')).response_type, 'in_channel');
    const failed = answerText(await h.command('DB'));
    assert.match(failed, /🔴 \*db\* failed after \d+ ms: `connect ECONNREFUSED 127\.0\.0\.1:9`/);
    assert.match(failed, /\*State\*\\nnot probed yet/);
  });

  test('status lists every target worst first, and filters by label', async () => {
    await h.port.scheduledProbe('db');
    await h.port.scheduledProbe('db');
    await h.port.scheduledProbe('db');
    const all = answerText(await h.command('status'));
    assert.ok(all.indexOf('*db*') < all.indexOf('*api*'), 'DOWN before UP');
    assert.match(all, /1 DOWN · 1 UP/);
    const core = answerText(await h.command('status team=core'));
    assert.match(core, /1 target matching team=core/);
    assert.doesNotMatch(core, /\*db\*/);
  });

  test('silence, silences and unsilence go through the engine and record who', async () => {
    const added = answerText(await h.command('silence api 2h deploy of v2'));
    const id = /Silence `([0-9a-f]{8})`/.exec(added)?.[1];
    assert.ok(id, added);
    assert.match(added, /Silenced \*api\* for 2h/);
    const [silence] = h.port.silences.list();
    assert.equal(silence?.author, 'alice (U0ALICE)');
    assert.equal(silence?.reason, 'deploy of v2');
    assert.ok(Math.abs(silence!.until - (Date.now() + 7_200_000)) < 5000);
    assert.match(answerText(await h.command('silences')), new RegExp(`\`${id}\` \\*api\\* until .*alice \\(U0ALICE\\) · deploy of v2`));
    assert.match(answerText(await h.command('silence team=data 30m', { user_id: 'U0BOB', user_name: 'bob' })), /Silenced `team=data` for 30m/);
    assert.match(answerText(await h.command('silence nosuch 1h')), /no target named `nosuch`/);
    assert.match(answerText(await h.command(`unsilence ${id}`)), /Removed a silence/);
    assert.deepEqual(h.port.silences.list().map((s) => s.author), ['bob (U0BOB)']);
    assert.match(answerText(await h.command('unsilence nosuch')), /No silence has the ID or target/);
  });

  test('help, and usage for anything it cannot read', async () => {
    assert.match(answerText(await h.command('')), /`\/probe status \[label=value\] \[page=N\]`/);
    assert.match(answerText(await h.command('status api')), /label=value filters/);
    assert.match(answerText(await h.command('api --verbose')), /Unknown option --verbose/);
  });

  test('a burst of 50 commands is acked at once and all answered, a few probes at a time', async () => {
    h.port.maxInFlight = 0;
    const urls = Array.from({ length: 50 }, () => h.recorder.newUrl());
    const acks = await Promise.all(urls.map((url) => h.client.slashCommand({ text: 'api', response_url: url })));
    assert.ok(acks.every((ack) => ack.status === 200 && ack.body === ''));
    const slowest = Math.max(...acks.map((ack) => ack.elapsedMs));
    assert.ok(slowest < 2000, `slowest ack ${Math.round(slowest)} ms (Slack allows 3 s)`);
    const answers = await Promise.all(urls.map((url) => h.recorder.waitFor(url, 1, 10_000)));
    assert.ok(answers.every(([answer]) => /ok in/.test(answerText(answer!))));
    assert.ok(h.port.maxInFlight <= 8, `at most 8 on-demand probes at once, saw ${h.port.maxInFlight}`);
    assert.ok(h.port.maxInFlight >= 2, 'they do run concurrently');
  });

  test('logs never carry the bot token, the signing secret or a response_url', () => {
    const text = h.logs.text();
    assert.ok(h.logs.lines.some((line) => line.component === 'slack-bolt'), "Bolt's own lines arrive, at debug");
    for (const secret of [h.fakeSlack.token, SIGNING_SECRET, '/commands/T0FAKE/']) assert.ok(!text.includes(secret), `logs contain ${secret}`);
  });
});

describe('Slack app access', () => {
  let target: HttpTargetServer;
  before(async () => {
    target = await startHttpTarget({ body: 'ok' });
  });
  after(() => target.close());

  test('a user outside allow.users is refused politely, and nothing is probed', async () => {
    const h = await startHarness({ targets: [httpTarget('api', target.url)], slack: { allow: { users: ['U0BOB'] } } });
    try {
      const refusal = await h.command('api');
      assert.equal(refusal.response_type, 'ephemeral');
      assert.match(answerText(refusal), /Sorry, \/probe is limited to certain people.*U0ALICE/);
      assert.equal(target.connections, 0);
      assert.deepEqual(h.port.probed, []);
      assert.match(answerText(await h.command('api', { user_id: 'U0BOB', user_name: 'bob' })), /ok in/);
    } finally {
      await h.close();
    }
  });

  test('a channel outside allow.channels is refused, naming where it works', async () => {
    const h = await startHarness({ targets: [httpTarget('api', target.url)], slack: { allow: { channels: ['C0OPS'] } } });
    try {
      assert.match(answerText(await h.command('silence api 1h', { channel_id: 'C0RANDOM' })), /not enabled in this conversation\. It works in <#C0OPS>/);
      assert.deepEqual(h.port.silences.list(), []);
      assert.match(answerText(await h.command('status', { channel_id: 'C0OPS' })), /Status: 1 target/);
    } finally {
      await h.close();
    }
  });

  test('members of an allowed user group get in; the group is listed once for many commands', async () => {
    const h = await startHarness({
      targets: [httpTarget('api', target.url)],
      slack: { allow: { userGroups: ['S0ONCALL'] } },
      fakeSlack: { userGroups: { S0ONCALL: ['U0ALICE'] } },
    });
    try {
      assert.match(answerText(await h.command('status')), /Status: 1 target/);
      assert.match(answerText(await h.command('status', { user_id: 'U0BOB', user_name: 'bob' })), /limited to certain people/);
      assert.match(answerText(await h.command('status')), /Status: 1 target/);
      assert.equal(h.fakeSlack.callsOf('usergroups.users.list').length, 1);
    } finally {
      await h.close();
    }
  });
});

async function signedFor(body: string): Promise<{ signature: string }> {
  const { slackSignatureOf } = await import('../fakes/slack-client.js');
  return { signature: slackSignatureOf(SIGNING_SECRET, String(NOW_S()), body) };
}
