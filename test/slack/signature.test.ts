import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_CLOCK_SKEW_SECONDS, slackSignature, verifySlackSignature } from '../../src/slack/signature.js';
import { slackSignatureOf } from '../fakes/slack-client.js';

// Slack's documented example (PROTOCOLS.md).
const VECTOR = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};
const AT_VECTOR = Number(VECTOR.timestamp) * 1000;

const verify = (overrides: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) =>
  verifySlackSignature({ signingSecret: VECTOR.secret, body: VECTOR.body, timestamp: VECTOR.timestamp, signature: VECTOR.signature, now: AT_VECTOR, ...overrides });

describe('Slack request signatures', () => {
  test("Slack's documented test vector verifies, as text and as raw bytes", () => {
    assert.equal(slackSignature(VECTOR.secret, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
    assert.deepEqual(verify(), { ok: true });
    assert.deepEqual(verify({ body: Buffer.from(VECTOR.body) }), { ok: true });
  });

  test("the tests' own Slack signer agrees with the vector", () => {
    assert.equal(slackSignatureOf(VECTOR.secret, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  });

  test('timestamps up to 5 minutes off either way pass; one second more fails, naming the direction', () => {
    for (const offset of [-MAX_CLOCK_SKEW_SECONDS, MAX_CLOCK_SKEW_SECONDS]) {
      assert.deepEqual(verify({ now: AT_VECTOR - offset * 1000 }), { ok: true }, `now ${offset}s away`);
    }
    const stale = verify({ now: AT_VECTOR + (MAX_CLOCK_SKEW_SECONDS + 1) * 1000 });
    const future = verify({ now: AT_VECTOR - (MAX_CLOCK_SKEW_SECONDS + 1) * 1000 });
    assert.equal(stale.ok, false);
    assert.equal(future.ok, false);
    assert.match(!stale.ok ? stale.reason : '', /301s in the past/);
    assert.match(!future.ok ? future.reason : '', /301s in the future/);
  });

  const refusals: Array<[string, Partial<Parameters<typeof verifySlackSignature>[0]>, RegExp]> = [
    ['a body changed by one byte', { body: `${VECTOR.body}x` }, /does not match/],
    ['another secret', { signingSecret: 'another-secret' }, /does not match/],
    ['a signature for another timestamp', { timestamp: String(Number(VECTOR.timestamp) + 1) }, /does not match/],
    ['no timestamp header', { timestamp: undefined }, /missing X-Slack-Request-Timestamp/],
    ['no signature header', { signature: undefined }, /missing X-Slack-Signature/],
    ['an empty signature', { signature: '' }, /missing X-Slack-Signature/],
    ['a timestamp that is not a number', { timestamp: '1531420618.5' }, /not a Unix time/],
    ['a v1 signature', { signature: VECTOR.signature.replace('v0=', 'v1=') }, /not a v0 signature/],
    ['a signature in upper-case hex', { signature: VECTOR.signature.toUpperCase().replace('V0=', 'v0=') }, /not a v0 signature/],
    ['a truncated signature', { signature: VECTOR.signature.slice(0, -2) }, /not a v0 signature/],
  ];
  for (const [name, overrides, reason] of refusals) {
    test(`refuses ${name}`, () => {
      const check = verify(overrides);
      assert.equal(check.ok, false);
      assert.match(!check.ok ? check.reason : '', reason);
    });
  }
});
