import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { truncate } from '../../src/alerts/summary.js';
import {
  BLOCK_LIMITS,
  escapeMrkdwn,
  renderAlertMessage,
  renderReply,
  type AlertMessage,
  type RenderOptions,
  type SlackBlock,
  type TargetLine,
} from '../../src/slack/blocks.js';
import { blockProblems } from '../fakes/slack-api.js';

const T0 = Date.UTC(2026, 0, 1, 12);

function line(target: string, overrides: Partial<TargetLine> = {}): TargetLine {
  return {
    target,
    targetType: 'http',
    address: `https://${target}.example.test/health`,
    state: 'DOWN',
    since: T0,
    reason: '3 consecutive failures: status 503, expected 200',
    error: 'status 503, expected 200',
    latencyMs: 42,
    labels: { team: 'core' },
    incidentId: `inc-${target}`,
    ...overrides,
  };
}

const lines = (count: number, overrides: Partial<TargetLine> = {}) => Array.from({ length: count }, (_, i) => line(`t${i}`, overrides));

const buttons: RenderOptions = {
  targetActions: (l) => [
    { type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, action_id: 'ack', value: l.incidentId ?? '' },
    { type: 'button', text: { type: 'plain_text', text: 'Silence 1h '.repeat(20) }, action_id: 'x'.repeat(400), value: 'v'.repeat(3000) },
  ],
  messageActions: () => [{ type: 'button', text: { type: 'plain_text', text: 'Silence all' }, action_id: 'silence-all' }],
};

function allText(blocks: SlackBlock[] | undefined): string {
  return JSON.stringify(blocks ?? []);
}

describe('Block Kit limits', () => {
  const huge = 'x'.repeat(10_000);
  const cases: Array<{ name: string; message: AlertMessage; options?: RenderOptions }> = [
    { name: 'one target', message: { kind: 'transition', lines: [line('api')] } },
    { name: 'a 10,000-character error and reason', message: { kind: 'transition', lines: [line('api', { error: huge, reason: huge })] } },
    { name: 'a 10,000-character address and labels', message: { kind: 'transition', lines: [line('api', { address: huge, labels: { note: huge } })] } },
    { name: 'a 200-character target name', message: { kind: 'test', lines: [line('n'.repeat(200))] } },
    { name: 'a long mention', message: { kind: 'transition', lines: [line('api')], mention: '<!subteam^S1>'.repeat(100) } },
    { name: 'a recovered target', message: { kind: 'transition', lines: [line('api', { state: 'UP', downForMs: 3_723_000 })] } },
    { name: '2 targets', message: { kind: 'transition', lines: lines(2) } },
    { name: '45 targets', message: { kind: 'transition', lines: lines(45) } },
    { name: '1,000 targets with huge errors', message: { kind: 'transition', lines: lines(1000, { error: huge }) } },
    { name: '1,000 targets with buttons', message: { kind: 'reminder', lines: lines(1000), mention: '<!here>' }, options: buttons },
    { name: 'one target with buttons', message: { kind: 'transition', lines: [line('api')] }, options: buttons },
    { name: '5,000 targets with 200-character names', message: { kind: 'transition', lines: Array.from({ length: 5000 }, (_, i) => line(`${i}-${'n'.repeat(200)}`)) } },
  ];
  for (const { name, message, options } of cases) {
    test(`${name}: every block within Slack's limits`, () => {
      const rendered = renderAlertMessage(message, options);
      assert.deepEqual(blockProblems(rendered.blocks), []);
      assert.ok(rendered.text.length > 0 && rendered.text.length <= 40_000);
    });
  }
});

describe('alert message content', () => {
  test('a long error is cut with "…" and the field stays at most 2000 characters', () => {
    const rendered = renderAlertMessage({ kind: 'transition', lines: [line('api', { error: 'E'.repeat(5000) })] });
    const fields = rendered.blocks?.flatMap((b) => (b.type === 'section' ? (b.fields ?? []) : []));
    const error = fields?.find((f) => f.text.startsWith('*Error*'));
    assert.ok(error);
    assert.equal(error.text.length, BLOCK_LIMITS.fieldText);
    assert.ok(error.text.endsWith('…'));
  });

  test('a big group lists the first 20 targets and "and N more" with the states of the rest', () => {
    const group = [...lines(30), ...lines(70, { state: 'UP', downForMs: 60_000 })].map((l, i) => ({ ...l, target: `host-${i}` }));
    const rendered = renderAlertMessage({ kind: 'transition', lines: group });
    const text = allText(rendered.blocks);
    assert.match(text, /🔴 30 targets DOWN, 70 UP/);
    assert.match(text, /…and 80 more \(10 DOWN, 70 UP\): host-20, host-21/);
    assert.match(text, /host-19\*/);
    assert.doesNotMatch(text, /\*host-20\*/);
    assert.match(rendered.text, /30 targets DOWN, 70 UP: host-0, host-1, host-2, host-3, host-4 and 95 more/);
  });

  test('an acknowledged line shows who acknowledged, between the line and its buttons, after the recovery too', () => {
    for (const state of ['DOWN', 'UP'] as const) {
      const rendered = renderAlertMessage({ kind: 'transition', lines: [line('api', { state, acknowledged: '✋ Acknowledged by <@U0ALICE>' }), line('db')] }, buttons);
      const blocks = rendered.blocks ?? [];
      const at = blocks.findIndex((b) => b.type === 'context' && b.elements[0]?.text === '✋ Acknowledged by <@U0ALICE>');
      assert.ok(at > 0, `the note is shown (${state})`);
      assert.match(JSON.stringify(blocks[at - 1]), /\*api\*/, `right under the api line (${state})`);
    }
  });

  test('buttons are added per target and per message, cut to Slack\'s sizes', () => {
    const rendered = renderAlertMessage({ kind: 'transition', lines: lines(3) }, buttons);
    const actions = rendered.blocks?.filter((b) => b.type === 'actions') ?? [];
    assert.equal(actions.length, 4);
    const long = actions[0]?.type === 'actions' ? actions[0].elements[1] : undefined;
    assert.equal(long?.action_id.length, 255);
    assert.equal(long?.value?.length, 2000);
    assert.ok((long?.text.text.length ?? 0) <= 75);
  });

  test('the mention is added while something is DOWN, never on a resolved message', () => {
    const mention = '<!subteam^S0ONCALL>';
    const table: Array<[TargetLine[], boolean]> = [
      [[line('api')], true],
      [[line('api', { state: 'UP', downForMs: 1000 })], false],
      [[line('api', { state: 'FLAPPING' })], false],
      [[line('api'), line('db', { state: 'UP' })], true],
      [[line('api', { state: 'UP' }), line('db', { state: 'UP' })], false],
    ];
    for (const [group, expected] of table) {
      const text = allText(renderAlertMessage({ kind: 'transition', lines: group, mention }).blocks);
      assert.equal(text.includes(mention), expected, group.map((l) => l.state).join(','));
    }
  });

  test('text from probes is escaped for mrkdwn; Slack\'s own tokens are kept', () => {
    const rendered = renderAlertMessage({ kind: 'transition', lines: [line('api', { error: '<script>&<!channel>', reason: 'a < b & c > d' })], mention: '<!here>' });
    const text = allText(rendered.blocks);
    assert.match(text, /&lt;script&gt;&amp;&lt;!channel&gt;/);
    assert.match(text, /a &lt; b &amp; c &gt; d/);
    assert.match(text, /<!here>/);
    assert.match(text, /<!date\^1767268800\^/);
  });

  test('headers say what happened', () => {
    const table: Array<[AlertMessage, string]> = [
      [{ kind: 'transition', lines: [line('api')] }, '🔴 api DOWN'],
      [{ kind: 'transition', lines: [line('api', { state: 'UP', downForMs: 3_723_000 })] }, '✅ api UP after 1h2m3s'],
      [{ kind: 'transition', lines: [line('api', { state: 'FLAPPING' })] }, '🟠 api FLAPPING'],
      [{ kind: 'reminder', lines: [line('api')] }, '🔴 Reminder: api still DOWN'],
      [{ kind: 'test', lines: [line('api')] }, '🔴 [TEST] api DOWN'],
      [{ kind: 'transition', lines: lines(12) }, '🔴 12 targets DOWN'],
      [{ kind: 'transition', lines: lines(2, { state: 'UP' }) }, '✅ 2 targets UP'],
      [{ kind: 'transition', lines: [line('a', { state: 'FLAPPING' }), line('b', { state: 'UP' })] }, '🟠 1 target FLAPPING, 1 UP'],
    ];
    for (const [message, header] of table) {
      const first = renderAlertMessage(message).blocks?.[0];
      assert.deepEqual(first, { type: 'header', text: { type: 'plain_text', text: header, emoji: true } });
    }
  });
});

describe('thread replies', () => {
  test('a reply of 1,000 recoveries fits in 3000 characters and says how many are left out', () => {
    const reply = renderReply({ kind: 'transition', lines: lines(1000, { state: 'UP', downForMs: 5000 }) });
    assert.ok(reply.text.length <= 3000);
    assert.match(reply.text, /…and \d+ more$/);
    const shown = reply.text.split('\n').length - 1;
    assert.match(reply.text, new RegExp(`…and ${1000 - shown} more$`));
  });

  test('a reply with a huge reason is still cut to fit', () => {
    const reply = renderReply({ kind: 'transition', lines: [line('api', { reason: 'r'.repeat(10_000) })], mention: '<!here>' });
    assert.ok(reply.text.length <= 3000);
    assert.ok(reply.text.endsWith('<!here>'));
  });
});

describe('text helpers', () => {
  const table: Array<[string, number, string]> = [
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven char', 10, 'eleven ch…'],
    ['ab😀cd', 4, 'ab…'],
    ['', 5, ''],
  ];
  for (const [input, max, expected] of table) {
    test(`truncate(${JSON.stringify(input)}, ${max}) → ${JSON.stringify(expected)}`, () => {
      assert.equal(truncate(input, max), expected);
    });
  }

  test('escapeMrkdwn escapes only &, < and >', () => {
    assert.equal(escapeMrkdwn('a&b<c>d *e* _f_'), 'a&amp;b&lt;c&gt;d *e* _f_');
  });
});

describe('storm messages', () => {
  test('a group of 500 targets names every one of them, with or without buttons and acknowledgements', () => {
    for (const [options, acknowledged] of [[undefined, false], [buttons, false], [buttons, true]] as const) {
      const group = Array.from({ length: 500 }, (_, i) => line(`storm-${String(i).padStart(4, '0')}`, acknowledged ? { acknowledged: `✋ Acknowledged by <@U${i}>` } : {}));
      const rendered = renderAlertMessage({ kind: 'transition', lines: group }, options);
      assert.deepEqual(blockProblems(rendered.blocks), []);
      const text = allText(rendered.blocks);
      const unnamed = group.filter((l) => !new RegExp(`\\b${l.target}\\b`).test(text)).map((l) => l.target);
      assert.deepEqual(unnamed, []);
    }
  });
});
