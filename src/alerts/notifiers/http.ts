/**
 * One HTTP POST with a deadline, for the notifiers that speak plain HTTP (PagerDuty, webhooks),
 * and the mapping of its answer to a DeliveryOutcome. Error texts name the host only: webhook
 * URLs often carry a token in their path.
 */
import { request } from 'undici';
import type { DeliveryOutcome } from '../notifier.js';

export interface HttpPost {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** This request's own deadline; the caller's signal (shutdown, engine deadline) also ends it. */
  timeoutMs: number;
  signal: AbortSignal;
}

export type HttpAnswer = { status: number; retryAfter: string | undefined; location: string | undefined; body: string };

/** The answer, or a one-line reason the request got none (refused, timeout, aborted). */
export type HttpAttempt = { answered: true; answer: HttpAnswer } | { answered: false; error: string };

/** Enough of an error answer to explain it; the rest is discarded. */
const MAX_ANSWER_BYTES = 16 * 1024;

export async function postJson(post: HttpPost): Promise<HttpAttempt> {
  const deadline = AbortSignal.timeout(post.timeoutMs);
  const signal = AbortSignal.any([post.signal, deadline]);
  const host = hostOf(post.url);
  try {
    const response = await request(post.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'probebot', ...post.headers },
      body: post.body,
      signal,
    });
    const body = await readSome(response.body, MAX_ANSWER_BYTES);
    const answer = { status: response.statusCode, retryAfter: headerText(response.headers['retry-after']), location: headerText(response.headers.location), body };
    return { answered: true, answer };
  } catch (error) {
    if (deadline.aborted && !post.signal.aborted) return { answered: false, error: `timeout after ${post.timeoutMs}ms waiting for ${host}` };
    if (post.signal.aborted) return { answered: false, error: `aborted before ${host} answered` };
    return { answered: false, error: `${host}: ${networkErrorText(error)}` };
  }
}

/**
 * 2xx delivered; 408, 429 and 5xx worth retrying (after Retry-After when given); any other
 * answer will not change by sending again. `explain` turns an error answer into one line.
 */
export function outcomeOfAnswer(answer: HttpAnswer, explain: (answer: HttpAnswer) => string, now = Date.now()): DeliveryOutcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { status: 'delivered' };
  const error = explain(answer);
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, now);
    return retryAfterMs === undefined ? { status: 'retry', error } : { status: 'retry', error, retryAfterMs };
  }
  return { status: 'failed', error };
}

/** Retry-After as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** "HTTP 503 from hooks.example.com: <start of the body>". */
export function describeAnswer(answer: HttpAnswer, url: string): string {
  const snippet = oneLine(answer.body, 200);
  const redirect = answer.status >= 300 && answer.status < 400 ? ' (redirects are not followed: set url to the final address)' : '';
  return `HTTP ${answer.status} from ${hostOf(url)}${redirect}${snippet === '' ? '' : `: ${snippet}`}`;
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured url';
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function networkErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

async function readSome(body: AsyncIterable<Buffer> & { dump(): Promise<void> }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  // Breaking out of the loop destroys the stream; dump() is a no-op then and drains otherwise.
  await body.dump().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
