/**
 * A fake webhook receiver: records each request (headers, raw body), checks its Standard
 * Webhooks signature with the reference `standardwebhooks` package (5-minute tolerance), and
 * answers as told: a sequence of statuses (503 ×3 then 200), a delay, a hang, or down/up.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startFakeServer, type OutageMode } from './fake-server.js';

export interface WebhookRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined if it is not JSON. */
  json: unknown;
  /** Whether the signature verified; undefined when the receiver has no secret. */
  verified: boolean | undefined;
  verifyError?: string;
  /** What the receiver answered (0 while hanging). */
  status: number;
  at: number;
}

export type ScriptedAnswer = number | { status: number; headers?: Record<string, string>; body?: string };

export interface FakeWebhookReceiver {
  url: string;
  requests: WebhookRequest[];
  /** Answers these, one per request, then `200` (or what setStatus chose) again. */
  respondWith(answers: ScriptedAnswer[]): void;
  setStatus(status: number): void;
  /** Waits this long before answering each request. */
  delay(ms: number): void;
  /** Never answers (until close) while on. */
  hang(on?: boolean): void;
  down(mode?: OutageMode): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { secret?: string } = {}): Promise<FakeWebhookReceiver> {
  const verifier = options.secret === undefined ? undefined : new Webhook(options.secret);
  const requests: WebhookRequest[] = [];
  let script: ScriptedAnswer[] = [];
  let status = 200;
  let delayMs = 0;
  let hanging = false;

  const server = await startFakeServer(async (request, raw, response) => {
    const body = raw.toString('utf8');
    const record: WebhookRequest = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      body,
      json: parseJson(body),
      verified: undefined,
      status: 0,
      at: Date.now(),
    };
    if (verifier) {
      try {
        verifier.verify(body, request.headers as Record<string, string>);
        record.verified = true;
      } catch (error) {
        record.verified = false;
        record.verifyError = (error as Error).message;
      }
    }
    requests.push(record);
    if (hanging) return;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const answer = script.shift() ?? status;
    const { status: code, headers = {}, body: text = code < 300 ? 'ok' : 'error' } = typeof answer === 'number' ? { status: answer } : answer;
    record.status = code;
    if (!response.destroyed) response.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(text);
  });

  return {
    url: `${server.url}/hook`,
    requests,
    respondWith(answers) {
      script = [...answers];
    },
    setStatus(next) {
      status = next;
    },
    delay(ms) {
      delayMs = ms;
    },
    hang(on = true) {
      hanging = on;
    },
    down: (mode) => server.down(mode),
    up: () => server.up(),
    close: () => server.close(),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
