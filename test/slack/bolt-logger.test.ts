import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boltLogger, redactSecrets } from '../../src/slack/bolt-logger.js';
import { LogLines } from './helpers.js';

describe("Bolt's own log lines", () => {
  const cases: Array<[string, string]> = [
    ['token xoxb-1234-5678-abcdEFGH sent', 'token xoxb-[redacted] sent'.replace('xoxb', 'xox*')],
    ['app xapp-1-A0-123-abc', 'app xapp-[redacted]'],
    ['Authorization: Bearer xyz.abc', 'Authorization: Bearer [redacted]'],
    ['posting to https://hooks.slack.com/commands/T1/2/secret now', 'posting to [response_url] now'],
    ['{"response_url":"http://127.0.0.1:9/commands/x","text":"hi"}', '{"response_url":"[redacted]","text":"hi"}'],
    ['body: token=verif&team_id=T1&response_url=http%3A%2F%2Fa&trigger_id=1.2', 'body: token=[redacted]&team_id=T1&response_url=[redacted]&trigger_id=[redacted]'],
    ['wss://wss.slack.com/link/?ticket=abc-123&app_id=A1', 'wss://wss.slack.com/link/?ticket=[redacted]&app_id=A1'],
    ['{"token":"verif","user_id":"U1"}', '{"token":"[redacted]","user_id":"U1"}'],
  ];
  for (const [input, expected] of cases) {
    test(`scrubs "${input}"`, () => assert.equal(redactSecrets(input), expected));
  }

  test('go to our logger at debug, scrubbed, whatever level Bolt used', () => {
    const logs = new LogLines();
    const log = boltLogger(logs.logger());
    log.error('Slack API error: invalid_auth', new Error('token xoxb-1-2-3 rejected'));
    log.info({ response_url: 'https://hooks.slack.com/commands/T/1/s' });
    assert.deepEqual(logs.lines.map((line) => [line.level, line.component, line.boltLevel, line.msg]), [
      [20, 'slack-bolt', 'error', 'Slack API error: invalid_auth token xox*-[redacted] rejected'],
      [20, 'slack-bolt', 'info', '{"response_url":"[redacted]"}'],
    ]);
  });
});
