/** What a failed Slack Web API call means for delivery, and what the operator should do about it. */
import { ErrorCode } from '@slack/web-api';

export type SlackFailure = { status: 'retry'; error: string; retryAfterMs?: number } | { status: 'failed'; error: string; code: string };

/** Slack's transient `ok:false` codes; every other code will fail again the same way. */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

const HINTS: Record<string, (channel: string) => string> = {
  invalid_auth: () => 'Slack rejected the bot token: check slack.botToken (the xoxb-… token of the installed app)',
  not_authed: () => 'no bot token was sent: set slack.botToken',
  account_inactive: () => 'the bot token belongs to a deactivated app or user: reinstall the app and update slack.botToken',
  token_revoked: () => 'the bot token was revoked: reinstall the app and update slack.botToken',
  channel_not_found: (channel) => `invite the bot to ${channel} or fix the channel ID`,
  not_in_channel: (channel) => `the bot is not in ${channel}: invite it (/invite @your-bot) or fix the channel ID`,
  is_archived: (channel) => `${channel} is archived: unarchive it or set another channel`,
  msg_too_long: () => 'Slack refused the message as too long: a probebot bug, please report it',
  invalid_blocks: () => 'Slack refused the message layout: a probebot bug, please report it',
  missing_scope: () => 'the Slack app lacks the chat:write scope: add it and reinstall the app',
};

/** "channel_not_found: invite the bot to C0123 or fix the channel ID". */
export function explainSlackError(code: string, channel: string): string {
  const hint = HINTS[code];
  return hint ? `${code}: ${hint(channel)}` : `${code}: Slack refused the call (see https://api.slack.com/methods for this code)`;
}

export function slackErrorOutcome(error: unknown, channel: string, signal: AbortSignal): SlackFailure {
  const failure = error as { code?: unknown; retryAfter?: unknown; data?: { error?: unknown; response_metadata?: { retryAfter?: unknown } }; statusCode?: unknown; original?: unknown };
  switch (failure.code) {
    case ErrorCode.RateLimitedError: {
      const seconds = typeof failure.retryAfter === 'number' ? failure.retryAfter : 1;
      return { status: 'retry', error: `rate limited by Slack: retry after ${seconds}s`, retryAfterMs: seconds * 1000 };
    }
    case ErrorCode.PlatformError: {
      const code = typeof failure.data?.error === 'string' ? failure.data.error : 'unknown_error';
      if (!TRANSIENT.has(code)) return { status: 'failed', error: explainSlackError(code, channel), code };
      const seconds = failure.data?.response_metadata?.retryAfter;
      const retry: SlackFailure = { status: 'retry', error: `Slack answered ${code}` };
      if (typeof seconds === 'number') retry.retryAfterMs = seconds * 1000;
      return retry;
    }
    case ErrorCode.HTTPError: {
      const status = typeof failure.statusCode === 'number' ? failure.statusCode : 0;
      if (status >= 500 || status === 408) return { status: 'retry', error: `Slack answered HTTP ${status}` };
      return { status: 'failed', error: `Slack answered HTTP ${status}: check slack.apiUrl`, code: `http_${status}` };
    }
    case ErrorCode.RequestError: {
      if (signal.aborted) return { status: 'retry', error: 'aborted before Slack answered' };
      const original = failure.original instanceof Error ? failure.original : undefined;
      const cause = original?.cause instanceof Error ? original.cause.message : original?.message ?? 'request failed';
      return { status: 'retry', error: `Slack unreachable: ${cause}` };
    }
    default:
      if (signal.aborted) return { status: 'retry', error: 'aborted before Slack answered' };
      return { status: 'retry', error: `Slack call failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
