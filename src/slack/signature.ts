/**
 * Slack's request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<raw body>")>`.
 * Pure: the time is a parameter, so fixed vectors test it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Requests stamped further than this from now, in either direction, are refused (replays). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export interface SignedRequest {
  signingSecret: string;
  /** The raw body bytes, exactly as received. */
  body: Buffer | string;
  /** X-Slack-Request-Timestamp. */
  timestamp: string | undefined;
  /** X-Slack-Signature. */
  signature: string | undefined;
  /** Now, ms since the epoch. */
  now: number;
}

export function verifySlackSignature(request: SignedRequest): SignatureCheck {
  const { timestamp, signature } = request;
  if (timestamp === undefined || timestamp === '') return { ok: false, reason: 'missing X-Slack-Request-Timestamp header' };
  if (signature === undefined || signature === '') return { ok: false, reason: 'missing X-Slack-Signature header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time' };
  const skew = Number(timestamp) - Math.floor(request.now / 1000);
  if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
    return { ok: false, reason: `request timestamp is ${Math.abs(skew)}s in the ${skew < 0 ? 'past' : 'future'} (more than ${MAX_CLOCK_SKEW_SECONDS}s)` };
  }
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'X-Slack-Signature is not a v0 signature' };
  const expected = Buffer.from(slackSignature(request.signingSecret, timestamp, request.body), 'latin1');
  const given = Buffer.from(signature, 'latin1');
  // Both are 67 bytes here (format checked above), as timingSafeEqual needs.
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'signature does not match (check slack.signingSecret)' };
}

/** `v0=<hex>` for a body at a timestamp. */
export function slackSignature(signingSecret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}
