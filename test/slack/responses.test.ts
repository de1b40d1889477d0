import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Silence } from '../../src/alerts/silences.js';
import type { Target } from '../../src/config/schema.js';
import { initialStatus } from '../../src/monitor/state-machine.js';
import type { TargetStatus } from '../../src/monitor/types.js';
import { helpAnswer, probeAnswer, silencesAnswer, type ProbeOutcome, type SlackAnswer } from '../../src/slack/responses.js';
import { PAGE_SIZE, sparkline, statusAnswer, statusGroup, type StatusEntry } from '../../src/slack/status-page.js';
import { blockProblems } from '../fakes/slack-api.js';
import { configuredTarget } from '../fakes/targets.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const alice = { id: 'U0ALICE', name: 'alice' };

function withinLimits(answer: SlackAnswer): void {
  assert.deepEqual(blockProblems(answer.blocks), []);
  assert.ok(answer.text.length <= 40_000);
}

function status(name: string, overrides: Partial<TargetStatus>): TargetStatus {
  return { ...initialStatus(name, T0), ...overrides };
}

const target = (name: string, labels: Record<string, string> = {}): Target =>
  configuredTarget({ name, type: 'tcp', host: '10.0.0.1', port: 5432, labels });

describe('sparkline', () => {
  const table: Array<[number[], string]> = [
    [[], ''],
    [[5], '▄'],
    [[7, 7, 7], '▄▄▄'],
    [[0, 7], '▁█'],
    [[1, 2, 3, 4, 5, 6, 7, 8], '▁▂▃▄▅▆▇█'],
    [[8, 7, 6, 5, 4, 3, 2, 1], '█▇▆▅▄▃▂▁'],
    [[10, 1000, 10, 10], '▁█▁▁'],
    [[0, 50, 100], '▁▅█'],
    [[1.5, 1.6, Number.NaN, Number.POSITIVE_INFINITY, 1.7], '▁▅█'],
  ];
  for (const [values, expected] of table) {
    test(`[${values.join(', ')}] → "${expected}"`, () => assert.equal(sparkline(values), expected));
  }
});

describe('status pages', () => {
  const up = (name: string) => status(name, { state: 'UP', recentLatencies: [10, 12, 30, 11], lastResult: { ok: true, latencyMs: 11, at: T0 } });
  const down = (name: string) => status(name, { state: 'DOWN', incident: { id: `${name}@x`, since: T0 }, lastResult: { ok: false, latencyMs: 3000, at: T0, error: `connect ETIMEDOUT ${'x'.repeat(5000)}` } });

  test('groups DOWN first, then flapping, UNKNOWN and UP, with since, latency and sparkline', () => {
    const entries: StatusEntry[] = [
      { target: target('a-up'), status: up('a-up') },
      { target: target('b-unknown'), status: undefined },
      { target: target('c-down'), status: down('c-down') },
      { target: target('d-flapping'), status: status('d-flapping', { state: 'UP', flapping: true, flapPercent: 42 }) },
    ];
    const answer = statusAnswer(entries, { labels: {}, page: 1, command: '/probe', public: false });
    withinLimits(answer);
    const text = JSON.stringify(answer.blocks);
    const order = ['c-down', 'd-flapping', 'b-unknown', 'a-up'].map((name) => text.indexOf(`*${name}*`));
    assert.deepEqual([...order].sort((x, y) => x - y), order, `order ${order.join(',')}`);
    assert.match(text, /1 DOWN · 1 Flapping · 1 UNKNOWN · 1 UP/);
    assert.match(text, /\*a-up\* · since <!date\^\d+\^[^|]+\|2026-01-01T12:00:00\.000Z> · 11 ms · ▁▂█▁/);
    assert.match(text, /\*c-down\* · since .* · 3\.00 s · `connect ETIMEDOUT x+…`/);
    assert.equal(answer.response_type, 'ephemeral');
    assert.deepEqual(['DOWN', 'FLAPPING', 'UNKNOWN', 'UP'], [down('x'), status('x', { state: 'UP', flapping: true }), undefined, up('x')].map(statusGroup));
  });

  test('300 targets are paged within Block Kit limits, worst first, with the command for the next page', () => {
    const entries: StatusEntry[] = Array.from({ length: 300 }, (_, index) => {
      const name = `target-${String(index).padStart(3, '0')}-${'n'.repeat(60)}`;
      return { target: target(name, { team: 'core' }), status: index % 100 === 7 ? down(name) : up(name) };
    });
    const pages = Math.ceil(300 / PAGE_SIZE);
    const seen = new Set<string>();
    for (let page = 1; page <= pages; page++) {
      const answer = statusAnswer(entries, { labels: { team: 'core' }, page, command: '/probe', public: true });
      withinLimits(answer);
      assert.equal(answer.response_type, 'in_channel');
      const text = JSON.stringify(answer.blocks);
      for (const match of text.matchAll(/\*(target-\d{3})/g)) seen.add(match[1]!);
      if (page < pages) assert.match(text, new RegExp(`Page ${page} of ${pages} · next: \`/probe status team=core page=${page + 1}\``));
      else assert.match(text, new RegExp(`Page ${pages} of ${pages}"`));
      if (page === 1) assert.match(text, /3 DOWN · 297 UP/);
    }
    assert.equal(seen.size, 300, 'every target is on some page');
    const first = JSON.stringify(statusAnswer(entries, { labels: {}, page: 1, command: '/probe', public: false }).blocks);
    for (const name of ['target-007', 'target-107', 'target-207']) assert.ok(first.includes(name), `${name} (DOWN) on page 1`);
  });

  test('a page past the end and an empty filter say so', () => {
    const entries = [{ target: target('a'), status: undefined }];
    assert.match(statusAnswer(entries, { labels: {}, page: 3, command: '/probe', public: false }).text, /only 1 page/);
    assert.match(statusAnswer([], { labels: { team: 'x' }, page: 1, command: '/probe', public: false }).text, /No targets match `team=x`/);
  });
});

describe('answers stay within Block Kit limits', () => {
  test('ten probe outcomes with huge errors and details', () => {
    const huge = 'e'.repeat(20_000);
    const outcomes: ProbeOutcome[] = Array.from({ length: 10 }, (_, index) =>
      index % 3 === 0
        ? { kind: 'refused', input: huge, reason: huge }
        : index % 3 === 1
          ? { kind: 'configured', target: target(`t${index}${'n'.repeat(300)}`), result: { ok: false, latencyMs: 3000, at: T0, error: huge, details: { body: huge } }, status: undefined }
          : { kind: 'adhoc', shown: huge, connectTo: '10.0.0.1', targetType: 'http', result: { ok: true, latencyMs: 1, at: T0, phases: { connect: 0.2 } }, notes: [huge] },
    );
    const answer = probeAnswer(outcomes, { public: false, requestedBy: alice });
    withinLimits(answer);
  });

  test('500 silences', () => {
    const silences: Silence[] = Array.from({ length: 500 }, (_, index) => ({
      id: index.toString(16).padStart(8, '0'),
      matcher: index % 2 === 0 ? { target: `t${index}` } : { labels: { team: 'core', note: 'x'.repeat(3000) } },
      until: T0 + 3_600_000,
      reason: 'r'.repeat(index),
      author: 'alice (U0ALICE)',
      createdAt: T0,
    }));
    const answer = silencesAnswer(silences, T0, false);
    withinLimits(answer);
    assert.match(JSON.stringify(answer.blocks), /…and \d+ more/);
  });

  test('help names the command and what ad-hoc probes may reach', () => {
    const on = helpAnswer('/check', '10.0.0.0/8 on ports 80', 'Unknown option --x.');
    withinLimits(on);
    assert.match(on.blocks.map((block) => JSON.stringify(block)).join(''), /Unknown option --x\.[^]*within 10\.0\.0\.0\/8 on ports 80[^]*`\/check status/);
    assert.match(JSON.stringify(helpAnswer('/probe', undefined).blocks), /off here: only configured targets/);
  });
});
