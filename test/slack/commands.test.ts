import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SILENCE_REASON, parseCommand, slackText, type SlackCommand } from '../../src/slack/commands.js';

describe('slash command parsing', () => {
  const cases: Array<[string, SlackCommand]> = [
    ['', { kind: 'help' }],
    ['   ', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['HELP', { kind: 'help' }],
    ['api', { kind: 'probe', inputs: ['api'], public: false }],
    ['api --public', { kind: 'probe', inputs: ['api'], public: true }],
    ['--PUBLIC api db', { kind: 'probe', inputs: ['api', 'db'], public: true }],
    ['http://svc.test:8080/health', { kind: 'probe', inputs: ['http://svc.test:8080/health'], public: false }],
    ['<http://svc.test/a?x=1&amp;y=2|svc.test/a>', { kind: 'probe', inputs: ['http://svc.test/a?x=1&y=2'], public: false }],
    ['status', { kind: 'status', labels: {}, page: 1, public: false }],
    ['status team=core env=prod page=3 --public', { kind: 'status', labels: { team: 'core', env: 'prod' }, page: 3, public: true }],
    ['silences', { kind: 'silences', public: false }],
    ['silence api 2h', { kind: 'silence', matcher: { target: 'api' }, durationMs: 7_200_000, reason: DEFAULT_SILENCE_REASON }],
    ['silence API 1h30m deploy of v2 &amp; db', { kind: 'silence', matcher: { target: 'api' }, durationMs: 5_400_000, reason: 'deploy of v2 & db' }],
    ['silence team=core env=prod 30m', { kind: 'silence', matcher: { labels: { team: 'core', env: 'prod' } }, durationMs: 1_800_000, reason: DEFAULT_SILENCE_REASON }],
    ['unsilence a1b2c3d4', { kind: 'unsilence', idOrTarget: 'a1b2c3d4' }],
  ];
  for (const [text, expected] of cases) {
    test(`"${text}"`, () => assert.deepEqual(parseCommand(text), expected));
  }

  const usage: Array<[string, RegExp]> = [
    ['status api', /label=value/],
    ['status page=0', /page number/],
    ['status page=x', /page number/],
    ['silences api', /takes nothing/],
    ['silence', /Usage/],
    ['silence api', /Usage/],
    ['silence api soon', /not a duration/],
    ['silence api 0s', /not a duration/],
    ['silence api 91d', /at most 90d/],
    ['unsilence', /one silence ID/],
    ['unsilence a b', /one silence ID/],
    ['api --verbose', /Unknown option --verbose/],
    ['a b c d e f g h i j k', /At most 10/],
  ];
  for (const [text, problem] of usage) {
    test(`"${text}" answers with usage and what is wrong`, () => {
      const command = parseCommand(text);
      assert.equal(command.kind, 'help');
      assert.match(command.kind === 'help' ? command.problem ?? '' : '', problem);
    });
  }

  test('Slack-escaped text is read as typed', () => {
    assert.equal(slackText('<https://a.test/x|a.test/x> &lt;b&gt; &amp;amp;'), 'https://a.test/x <b> &amp;');
  });
});
