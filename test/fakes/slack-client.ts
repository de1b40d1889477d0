/**
 * Slack's side of the Slack app, for tests: signs requests exactly as Slack does and posts
 * form-encoded slash commands and block_actions payloads to the running app on loopback, with
 * response_url pointing at a local recorder of what the app answers there.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { sendJson, startFakeServer } from './fake-server.js';

export interface PostAnswer {
  status: number;
  body: string;
  /** Wall time until the app answered, ms. */
  elapsedMs: number;
}

export interface SignOptions {
  /** Unix seconds; now by default. */
  timestamp?: number | string;
  /** Replaces the computed signature. */
  signature?: string;
  /** Leaves these headers out. */
  omit?: Array<'timestamp' | 'signature'>;
  contentType?: string;
  /** Signs with this secret instead of the right one. */
  secret?: string;
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`: Slack's signature, written out independently. */
export function slackSignatureOf(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SlashCommandFields {
  command?: string;
  text?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  response_url: string;
}

export class FakeSlackClient {
  constructor(
    /** http://127.0.0.1:<port>/slack/events */
    readonly eventsUrl: string,
    private readonly signingSecret: string,
  ) {}

  slashCommand(fields: SlashCommandFields, options: SignOptions = {}): Promise<PostAnswer> {
    const form = new URLSearchParams({
      token: 'verification-token-unused',
      team_id: 'T0FAKE',
      team_domain: 'fake',
      channel_id: fields.channel_id ?? 'C0OPS',
      channel_name: fields.channel_name ?? 'ops',
      user_id: fields.user_id ?? 'U0ALICE',
      user_name: fields.user_name ?? 'alice',
      command: fields.command ?? '/probe',
      text: fields.text ?? '',
      api_app_id: 'A0FAKE',
      is_enterprise_install: 'false',
      response_url: fields.response_url,
      trigger_id: '1.2.3',
    });
    return this.post(form.toString(), options);
  }

  /** A block_actions payload, as Slack sends it when a button is pressed. */
  blockAction(payload: Record<string, unknown>, options: SignOptions = {}): Promise<PostAnswer> {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', team: { id: 'T0FAKE', domain: 'fake' }, api_app_id: 'A0FAKE', ...payload }) });
    return this.post(body.toString(), options);
  }

  async post(body: string, options: SignOptions = {}): Promise<PostAnswer> {
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' };
    if (!options.omit?.includes('timestamp')) headers['x-slack-request-timestamp'] = timestamp;
    if (!options.omit?.includes('signature')) headers['x-slack-signature'] = options.signature ?? slackSignatureOf(options.secret ?? this.signingSecret, timestamp, body);
    const started = performance.now();
    const response = await fetch(this.eventsUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text(), elapsedMs: performance.now() - started };
  }
}

export interface RecordedResponse {
  path: string;
  body: Record<string, unknown>;
}

export interface ResponseRecorder {
  /** A fresh response_url; what is posted to it is kept under its path. */
  newUrl(): string;
  /** Everything posted, in order. */
  readonly all: RecordedResponse[];
  posted(url: string): Array<Record<string, unknown>>;
  /** Waits (bounded) until `count` answers were posted to `url`. */
  waitFor(url: string, count?: number, timeoutMs?: number): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** Answers 200 to every POST, like Slack's response_url endpoint does. */
export async function startResponseRecorder(): Promise<ResponseRecorder> {
  const all: RecordedResponse[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(1000);
  let next = 0;
  const server = await startFakeServer((request, body, response) => {
    const path = request.url ?? '/';
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      parsed = { unparsable: body.toString('utf8') };
    }
    all.push({ path, body: parsed });
    sendJson(response, 200, { ok: true });
    events.emit('posted', path);
  });
  const pathOf = (url: string) => new URL(url).pathname;
  const posted = (url: string) => all.filter((entry) => entry.path === pathOf(url)).map((entry) => entry.body);
  return {
    newUrl: () => `${server.url}/commands/T0FAKE/${++next}/secret`,
    all,
    posted,
    async waitFor(url, count = 1, timeoutMs = 5000) {
      const deadline = AbortSignal.timeout(timeoutMs);
      while (posted(url).length < count) {
        try {
          await once(events, 'posted', { signal: deadline });
        } catch {
          throw new Error(`${posted(url).length} of ${count} answers posted to ${pathOf(url)} within ${timeoutMs} ms`);
        }
      }
      return posted(url);
    },
    close: () => server.close(),
  };
}
