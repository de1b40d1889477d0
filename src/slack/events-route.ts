/**
 * `POST /slack/events` on the bot's HTTP server. Reads the raw body, checks Slack's signature
 * and that the timestamp is within 5 minutes of now in either direction (Bolt only refuses old
 * ones), and answers 401 before anything else happens. Only then does Bolt's receiver get the
 * request, with the body it would otherwise read itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Clock } from '../clock.js';
import type { RouteHandler } from '../http/server.js';
import type { Logger } from '../log.js';
import { verifySlackSignature } from './signature.js';

export interface SlackEventsRouteOptions {
  signingSecret: string;
  clock: Clock;
  logger: Logger;
  /** Bolt's HTTPReceiver request listener. */
  next: (request: IncomingMessage, response: ServerResponse) => void;
  /** Bigger bodies are refused with 413; block_actions carry the whole message, so not tiny. */
  maxBodyBytes?: number;
}

const FORM = 'application/x-www-form-urlencoded';
const WARN_EVERY_MS = 60_000;

export function slackEventsRoute(options: SlackEventsRouteOptions): RouteHandler {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let quietRejections = 0;
  // One line a minute at most: a flood of forged requests must not flood the log too.
  const warnRejected = (reason: string) => {
    const now = options.clock.now();
    if (now - lastWarnAt < WARN_EVERY_MS) {
      quietRejections++;
      return;
    }
    options.logger.warn({ reason, alsoRejectedSinceLastLine: quietRejections }, 'Slack request refused: bad signature');
    lastWarnAt = now;
    quietRejections = 0;
  };

  return async (request, response) => {
    if (request.method !== 'POST') return plain(response, 405, 'POST only');
    const body = await readBody(request, maxBodyBytes);
    if (body === undefined) return plain(response, 413, 'body too large');
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    // Slack's periodic certificate check carries nothing to act on; answered without work.
    if (contentType === FORM && isSslCheck(body)) return plain(response, 200, '');
    const check = verifySlackSignature({
      signingSecret: options.signingSecret,
      body,
      timestamp: header(request, 'x-slack-request-timestamp'),
      signature: header(request, 'x-slack-signature'),
      now: options.clock.now(),
    });
    if (!check.ok) {
      warnRejected(check.reason);
      return plain(response, 401, 'invalid request signature');
    }
    // Bolt parses a form only when the type is exactly this; `; charset=utf-8` would be a 400.
    if (contentType === FORM) request.headers['content-type'] = FORM;
    // Bolt reads the parsed body outside its own error handling: a body that parses to null
    // (`payload=null`) rejected unhandled and stopped the whole bot. Slack only sends objects.
    if (!parsesToObject(body, contentType)) return plain(response, 400, 'not a Slack request');
    (request as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    options.next(request, response);
  };
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Whether Bolt's parse of the body (a form, its JSON `payload` field, else JSON) gives an object. */
function parsesToObject(body: Buffer, contentType: string): boolean {
  const text = body.toString('utf8');
  const payload = contentType === FORM ? parseQuery(text).payload : text;
  if (typeof payload !== 'string') return true; // a form without a single payload field is an object
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === 'object' && parsed !== null;
  } catch {
    return false;
  }
}

function isSslCheck(body: Buffer): boolean {
  const form = new URLSearchParams(body.toString('utf8'));
  return form.get('ssl_check') === '1' && !form.has('command') && !form.has('payload');
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? undefined : value;
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
