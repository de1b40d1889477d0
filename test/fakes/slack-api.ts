/**
 * A fake Slack Web API at `<url>/api/` (pass `apiUrl: fake.apiUrl`): checks the bot token,
 * takes JSON and form-encoded bodies (as WebClient sends them, `blocks` a JSON string), enforces
 * Block Kit limits, and records every call. Knobs: failNext, rateLimit, a per-channel
 * postMessage rate, and down/up.
 */
import type { IncomingMessage } from 'node:http';
import { sendJson, startFakeServer, type OutageMode } from './fake-server.js';

export interface SlackCall {
  method: string;
  token: string | undefined;
  args: Record<string, unknown>;
  at: number;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  threadTs: string | undefined;
  replyBroadcast: boolean;
  /** How many chat.update calls changed it. */
  updates: number;
}

export interface FakeSlackOptions {
  /** The valid bot token; default 'xoxb-fake-token'. */
  token?: string;
  /** When set, only these channels exist (others answer channel_not_found). */
  channels?: string[];
  /** Slack's own pacing of chat.postMessage per channel, enforced with 429s (about 1 per second). */
  channelRateLimit?: { perSecond: number; burst?: number };
  now?: () => number;
  /** User groups and their member IDs, for usergroups.users.list (unknown groups: no_such_subteam). */
  userGroups?: Record<string, string[]>;
}

export interface FakeSlack {
  url: string;
  /** `<url>/api/`: the value for slack.apiUrl. */
  apiUrl: string;
  token: string;
  calls: SlackCall[];
  /** Posted messages by `${channel}:${ts}`, in posting order. */
  messages: Map<string, FakeSlackMessage>;
  callsOf(method: string): SlackCall[];
  message(channel: string, ts: string): FakeSlackMessage | undefined;
  /** The next `count` calls of `method` answer `{ ok: false, error }`. */
  failNext(method: string, error: string, count?: number): void;
  /** The next call of `method` is answered only after `ms` (real time), to reorder concurrent calls. */
  slowNext(method: string, ms: number): void;
  /** The next `count` calls (any method) answer HTTP 429 with Retry-After. */
  rateLimit(options: { retryAfterSeconds: number; count?: number }): void;
  down(mode?: OutageMode): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const LIMITS = { blocks: 50, header: 150, sectionText: 3000, fields: 10, fieldText: 2000, text: 40_000, actions: 25, actionId: 255, value: 2000 };
const ENCODED_JSON_ARGS = new Set(['blocks', 'attachments', 'metadata']);

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-fake-token';
  const now = options.now ?? Date.now;
  const calls: SlackCall[] = [];
  const messages = new Map<string, FakeSlackMessage>();
  const failures: Array<{ method: string; error: string }> = [];
  const slow = new Map<string, number>();
  let rateLimited = { count: 0, retryAfterSeconds: 1 };
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sequence = 0;

  const server = await startFakeServer(async (request, body, response) => {
    const method = (request.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const pause = slow.get(method);
    if (pause !== undefined) {
      slow.delete(method);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const args = parseArgs(request, body);
    const sentToken = bearer(request) ?? (typeof args.token === 'string' ? args.token : undefined);
    calls.push({ method, token: sentToken, args, at: now() });
    if (rateLimited.count > 0) {
      rateLimited.count--;
      sendJson(response, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(rateLimited.retryAfterSeconds) });
      return;
    }
    const answer = (result: Record<string, unknown>) => sendJson(response, 200, result);
    const fail = (error: string) => answer({ ok: false, error });
    if (sentToken === undefined || sentToken === '') return fail('not_authed');
    if (sentToken !== token) return fail('invalid_auth');
    const injected = failures.findIndex((f) => f.method === method);
    if (injected >= 0) return fail(failures.splice(injected, 1)[0]!.error);
    const channel = typeof args.channel === 'string' ? args.channel : undefined;
    switch (method) {
      case 'auth.test':
        return answer({ ok: true, url: 'https://fake.slack.com/', team: 'Fake', user: 'probebot', team_id: 'T0FAKE', user_id: 'U0BOT', bot_id: 'B0BOT' });
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const problem = checkMessage(args, channel, options.channels) ?? (method === 'chat.postEphemeral' && typeof args.user !== 'string' ? 'user_not_found' : undefined);
        if (problem) return fail(problem);
        if (method === 'chat.postMessage' && options.channelRateLimit) {
          const wait = takeToken(buckets, channel!, options.channelRateLimit, now());
          if (wait > 0) {
            sendJson(response, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) });
            return;
          }
        }
        if (method === 'chat.postEphemeral') return answer({ ok: true, message_ts: nextTs(sequence++) });
        const ts = nextTs(sequence++);
        const message: FakeSlackMessage = {
          channel: channel!,
          ts,
          text: typeof args.text === 'string' ? args.text : undefined,
          blocks: Array.isArray(args.blocks) ? args.blocks : undefined,
          threadTs: typeof args.thread_ts === 'string' ? args.thread_ts : undefined,
          replyBroadcast: args.reply_broadcast === true || args.reply_broadcast === 'true',
          updates: 0,
        };
        messages.set(`${channel}:${ts}`, message);
        return answer({ ok: true, channel, ts, message: { type: 'message', text: message.text, blocks: message.blocks, ts, thread_ts: message.threadTs } });
      }
      case 'chat.update': {
        const problem = checkMessage(args, channel, options.channels);
        if (problem) return fail(problem);
        const ts = typeof args.ts === 'string' ? args.ts : '';
        const message = messages.get(`${channel}:${ts}`);
        if (!message) return fail('message_not_found');
        message.text = typeof args.text === 'string' ? args.text : message.text;
        message.blocks = Array.isArray(args.blocks) ? args.blocks : message.blocks;
        message.updates++;
        return answer({ ok: true, channel, ts, text: message.text });
      }
      case 'usergroups.users.list': {
        const members = options.userGroups?.[typeof args.usergroup === 'string' ? args.usergroup : ''];
        return members === undefined ? fail('no_such_subteam') : answer({ ok: true, users: members });
      }
      default:
        return fail('unknown_method');
    }
  });

  return {
    url: server.url,
    apiUrl: `${server.url}/api/`,
    token,
    calls,
    messages,
    callsOf: (method) => calls.filter((call) => call.method === method),
    message: (channel, ts) => messages.get(`${channel}:${ts}`),
    failNext(method, error, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ method, error });
    },
    slowNext(method, ms) {
      slow.set(method, ms);
    },
    rateLimit({ retryAfterSeconds, count = 1 }) {
      rateLimited = { count, retryAfterSeconds };
    },
    down: (mode) => server.down(mode),
    up: () => server.up(),
    close: () => server.close(),
  };
}

function parseArgs(request: IncomingMessage, body: Buffer): Record<string, unknown> {
  const type = request.headers['content-type'] ?? '';
  const text = body.toString('utf8');
  if (type.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = ENCODED_JSON_ARGS.has(key) ? parseJsonOr(value) : value;
  }
  return args;
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

/** "1700000000.000100", increasing and unique like Slack's message timestamps. */
function nextTs(n: number): string {
  return `${1_700_000_000 + Math.floor(n / 1000)}.${String((n % 1000) * 100 + 100).padStart(6, '0')}`;
}

function checkMessage(args: Record<string, unknown>, channel: string | undefined, channels: string[] | undefined): string | undefined {
  if (channel === undefined || channel === '') return 'channel_not_found';
  if (channels && !channels.includes(channel)) return 'channel_not_found';
  const hasText = typeof args.text === 'string' && args.text !== '';
  const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
  if (!hasText && !hasBlocks) return 'no_text';
  if (typeof args.text === 'string' && args.text.length > LIMITS.text) return 'msg_too_long';
  if (args.blocks !== undefined && !blocksValid(args.blocks)) return 'invalid_blocks';
  return undefined;
}

/** Slack's documented Block Kit limits for the blocks probebot uses. */
export function blockProblems(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return ['blocks is not an array'];
  const problems: string[] = [];
  if (blocks.length > LIMITS.blocks) problems.push(`${blocks.length} blocks > ${LIMITS.blocks}`);
  const textOf = (value: unknown) => (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string' ? (value as { text: string }).text : undefined);
  for (const [index, block] of blocks.entries()) {
    const b = block as { type?: unknown; text?: unknown; fields?: unknown; elements?: unknown };
    const where = `block ${index} (${String(b.type)})`;
    if (b.type === 'header') {
      const text = textOf(b.text);
      if (text === undefined || text.length === 0 || text.length > LIMITS.header) problems.push(`${where}: header text length ${text?.length}`);
    } else if (b.type === 'section') {
      const text = textOf(b.text);
      const fields = Array.isArray(b.fields) ? b.fields : undefined;
      if (text === undefined && !fields) problems.push(`${where}: section without text or fields`);
      if (text !== undefined && (text.length === 0 || text.length > LIMITS.sectionText)) problems.push(`${where}: section text length ${text.length}`);
      if (fields && fields.length > LIMITS.fields) problems.push(`${where}: ${fields.length} fields`);
      for (const field of fields ?? []) {
        const fieldText = textOf(field);
        if (fieldText === undefined || fieldText.length === 0 || fieldText.length > LIMITS.fieldText) problems.push(`${where}: field text length ${fieldText?.length}`);
      }
    } else if (b.type === 'actions') {
      const elements = Array.isArray(b.elements) ? b.elements : [];
      if (elements.length === 0 || elements.length > LIMITS.actions) problems.push(`${where}: ${elements.length} elements`);
      for (const element of elements as Array<{ action_id?: unknown; value?: unknown }>) {
        if (typeof element.action_id === 'string' && element.action_id.length > LIMITS.actionId) problems.push(`${where}: action_id too long`);
        if (typeof element.value === 'string' && element.value.length > LIMITS.value) problems.push(`${where}: value too long`);
      }
    } else if (b.type === 'context') {
      const elements = Array.isArray(b.elements) ? b.elements : [];
      if (elements.length === 0 || elements.length > 10) problems.push(`${where}: ${elements.length} elements`);
    } else if (b.type !== 'divider') {
      problems.push(`${where}: unknown block type`);
    }
  }
  return problems;
}

function blocksValid(blocks: unknown): boolean {
  return blockProblems(blocks).length === 0;
}

/** Token bucket per channel; the wait in ms before the next post is allowed (0: allowed now). */
function takeToken(buckets: Map<string, { tokens: number; at: number }>, channel: string, limit: { perSecond: number; burst?: number }, now: number): number {
  const capacity = limit.burst ?? 1;
  const bucket = buckets.get(channel) ?? { tokens: capacity, at: now };
  bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
  bucket.at = now;
  buckets.set(channel, bucket);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return ((1 - bucket.tokens) / limit.perSecond) * 1000;
}
