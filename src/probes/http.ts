import { connect as connectTcp, isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as connectTls, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import type { buildConnector, Dispatcher } from 'undici';
import type { HttpTarget } from '../config/schema.js';
import { judgeHttpResponse, needsBodyText, REDIRECT_STATUSES, type HttpResponseFacts } from './http-checks.js';
import { describeConnectError } from './tcp.js';
import { secureContexts } from './tls-files.js';
import { checkCertificateTrust } from './tls.js';
import { describeAbort, type Probe, type ProbePhases, type ProbeResult } from './types.js';

const DAY_MS = 86_400_000;
/**
 * Handed to undici when a probe's client is destroyed. Without one it builds a ClientDestroyedError
 * for every probe, stack trace included, that nothing reads: about 3 % of an HTTP probe's CPU.
 */
const EXCHANGE_DONE = new Error('probe exchange finished');
/**
 * Not sent on to another origin: credentials meant for the first one, and a Host header, which
 * names the first server (and, over TLS, the name its certificate is checked against).
 */
const FIRST_ORIGIN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);

/** Where the probe is, how long each phase took (summed over redirect hops), what it learnt. */
class Progress {
  /** What the probe is waiting for, for "timeout after 3000ms (waiting for body)". */
  phase = 'connecting';
  readonly phases: ProbePhases = {};
  /** The latest hop's peer certificate expiry, ms since the epoch; unset over plain http. */
  certValidTo: number | undefined;
  private mark: number;

  constructor(start: number) {
    this.mark = start;
  }

  /** Ends the span that ran since the last lap, adds it to `name`, and names what comes next. */
  lap(name: keyof ProbePhases, next: string): void {
    const now = performance.now();
    this.phases[name] = (this.phases[name] ?? 0) + (now - this.mark);
    this.mark = now;
    this.phase = next;
  }
}

interface Request {
  url: URL;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
}

/** How the probe's HTTPS connections verify and present certificates. */
interface TlsChoice {
  insecure: boolean;
  /** From the target's caFile/certFile/keyFile; Node's default when none is named. */
  context: SecureContext | undefined;
}

interface Exchange {
  status: number;
  headers: HttpResponseFacts['headers'];
  bytesRead: number;
  truncated: boolean;
  bodyText: string | undefined;
}

/**
 * One HTTP(S) request over a fresh connection (a pooled keep-alive connection would hide a dead
 * listener), redirects followed only when asked. The signal bounds the whole exchange: connect,
 * headers and the full body, which is read up to maxBodyBytes and never buffered beyond that.
 *
 * Phases are durations, not offsets: dns (name lookup), connect (TCP), tls (handshake),
 * firstByte (request sent until response headers), body (headers until the body is read).
 * They come from the socket's own events, which is why the connection is opened here and not
 * by undici's connector.
 */
export const probeHttp: Probe<HttpTarget> = async (target, signal) => {
  const { Client } = await loadHttpClient();
  const at = Date.now();
  const started = performance.now();
  const progress = new Progress(started);
  const details: NonNullable<ProbeResult['details']> = {};
  let error: string | undefined;
  try {
    const keepBody = needsBodyText(target.expect);
    let request: Request = { url: new URL(target.url), method: target.method, headers: requestHeaders(target.headers), body: target.body };
    const tls = { insecure: target.insecure, context: secureContexts.for(target) };
    let exchange = await exchangeOnce(Client, request, target, tls, keepBody, progress, signal);
    let redirects = 0;
    for (; target.followRedirects && redirects < target.maxRedirects && isFollowable(exchange); redirects++) {
      request = redirected(request, exchange);
      exchange = await exchangeOnce(Client, request, target, tls, keepBody, progress, signal);
    }
    details.status = exchange.status;
    details.bytesRead = exchange.bytesRead;
    if (exchange.truncated) details.truncated = true;
    // Without user info: a URL may carry a password, and details end up in Slack and logs.
    if (redirects > 0) Object.assign(details, { redirects, url: request.url.origin + request.url.pathname + request.url.search });
    error = judgeHttpResponse(target.expect, target.maxRedirects, {
      ...exchange,
      certValidTo: progress.certValidTo,
      redirectLimitReached: target.followRedirects && isFollowable(exchange),
      now: Date.now(),
    });
  } catch (failure) {
    error = signal.aborted ? describeAbort(signal, target.timeout, progress.phase) : describeConnectError(failure);
  }
  if (progress.certValidTo !== undefined) details.certDaysLeft = Math.floor((progress.certValidTo - Date.now()) / DAY_MS);
  const result: ProbeResult = { ok: error === undefined, at, latencyMs: performance.now() - started, phases: progress.phases };
  if (Object.keys(details).length > 0) result.details = details;
  if (error !== undefined) result.error = error;
  return result;
};

let undici: Promise<typeof import('undici')> | undefined;

/**
 * undici, imported on first use: it takes ~150 ms to load, which a bot without HTTP targets
 * should not pay at startup. The registry loads it before the first HTTP probe's deadline starts.
 */
export function loadHttpClient(): Promise<typeof import('undici')> {
  undici ??= import('undici');
  return undici;
}

/** One request and its response on a connection of its own, closed before returning. */
async function exchangeOnce(Client: typeof import('undici').Client, request: Request, target: HttpTarget, tls: TlsChoice, keepBody: boolean, progress: Progress, signal: AbortSignal): Promise<Exchange> {
  let socket: Socket | undefined;
  const connect: buildConnector.connector = (options, callback) => {
    socket = openSocket(options, tls, progress, callback);
  };
  // undici's own timers are off: the signal is the one deadline over the whole exchange.
  const client = new Client(request.url.origin, { connect, headersTimeout: 0, bodyTimeout: 0 });
  // undici only hears the signal once the request is written; until then, destroying the
  // socket is what ends a connect that would otherwise wait out the kernel's SYN retries.
  const release = (): void => {
    socket?.destroy();
  };
  signal.addEventListener('abort', release, { once: true });
  try {
    progress.phase = isNamedHost(request.url) ? 'resolving host' : 'connecting';
    progress.certValidTo = undefined;
    const options: Dispatcher.RequestOptions = { path: request.url.pathname + request.url.search, method: request.method, headers: request.headers, signal };
    if (request.body !== undefined) options.body = request.body;
    const response = await client.request(options);
    progress.lap('firstByte', 'waiting for body');
    const body = await readBody(response.body, target.maxBodyBytes, keepBody);
    progress.lap('body', 'done');
    return { status: response.statusCode, headers: response.headers, ...body };
  } finally {
    signal.removeEventListener('abort', release);
    socket?.destroy();
    await client.destroy(EXCHANGE_DONE);
  }
}

/**
 * Opens the TCP (and TLS) connection for undici, timing each step. The certificate is verified
 * here rather than by the handshake so that an untrusted one still reports its expiry.
 */
function openSocket(options: buildConnector.Options, tls: TlsChoice, progress: Progress, callback: buildConnector.Callback): Socket {
  const https = options.protocol === 'https:';
  const port = Number(options.port) || (https ? 443 : 80);
  let socket: Socket;
  if (https) {
    const tlsOptions: ConnectionOptions = { host: options.hostname, port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] };
    // undici names the server after a Host header when there is one: a URL that gives an address
    // (as an ad-hoc probe pinned to the address it checked does) still sends that name as SNI,
    // and the certificate is checked against it.
    const servername = options.servername || (isIP(options.hostname) === 0 ? options.hostname : undefined);
    // SNI carries no trailing dot (RFC 6066); "example.com." names the same server.
    if (servername) tlsOptions.servername = servername.replace(/\.$/, '');
    if (tls.context !== undefined) tlsOptions.secureContext = tls.context;
    socket = connectTls(tlsOptions);
  } else {
    socket = connectTcp({ host: options.hostname, port });
  }
  socket.setNoDelay(true);
  socket.once('lookup', () => progress.lap('dns', 'connecting'));
  socket.once('connect', () => progress.lap('connect', https ? 'tls handshake' : 'waiting for headers'));
  // undici waits for exactly one answer; a socket destroyed by the deadline still gives one.
  let answered = false;
  const answer = (error: Error | null): void => {
    if (answered) return;
    answered = true;
    if (error) callback(error, null);
    else callback(null, socket);
  };
  socket.once(https ? 'secureConnect' : 'connect', () => {
    if (https) {
      progress.lap('tls', 'waiting for headers');
      const validTo = Date.parse((socket as TLSSocket).getPeerCertificate().valid_to);
      if (!Number.isNaN(validTo)) progress.certValidTo = validTo;
      const untrusted = tls.insecure ? undefined : checkCertificateTrust(socket as TLSSocket);
      if (untrusted !== undefined) return answer(new Error(untrusted));
    }
    answer(null);
  });
  socket.once('error', answer);
  socket.once('close', () => answer(new Error('connection closed before it was established')));
  return socket;
}

/**
 * Reads at most `limit` bytes, then stops (the connection is discarded anyway). Events rather than
 * `for await`: the async iterator held about 1.3 KiB more per request, which a stalled body keeps
 * alive through young collections until its deadline.
 */
function readBody(body: Readable, limit: number, keep: boolean): Promise<Pick<Exchange, 'bytesRead' | 'truncated' | 'bodyText'>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytesRead = 0;
    const settle = (): void => {
      body.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onError);
      // An error after the answer (say, the socket reset as it is destroyed) has nowhere to go.
      body.on('error', ignore);
    };
    const answer = (truncated: boolean): void => {
      settle();
      resolve({ bytesRead, truncated, bodyText: keep ? Buffer.concat(chunks).toString('utf8') : undefined });
    };
    const onData = (chunk: Buffer): void => {
      const room = limit - bytesRead;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      bytesRead += part.length;
      if (keep) chunks.push(part);
      if (part === chunk) return;
      answer(true);
      body.destroy();
    };
    const onEnd = (): void => answer(false);
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const onClose = (): void => onError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    body.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onError);
  });
}

function ignore(): void {}

/** Whether the URL's host needs a lookup ("[::1]" is how URL spells an IPv6 literal). */
function isNamedHost(url: URL): boolean {
  return !url.hostname.startsWith('[') && isIP(url.hostname) === 0;
}

function isFollowable(exchange: Exchange): boolean {
  return REDIRECT_STATUSES.has(exchange.status) && locationOf(exchange) !== undefined;
}

function locationOf(exchange: Exchange): string | undefined {
  const location = exchange.headers.location;
  return Array.isArray(location) ? location[0] : location;
}

/** The next request of a redirect, as browsers do it: 303 (and 301/302 after a POST) become a GET. */
function redirected(previous: Request, exchange: Exchange): Request {
  const url = new URL(locationOf(exchange)!, previous.url);
  const asGet = exchange.status === 303 || (previous.method === 'POST' && (exchange.status === 301 || exchange.status === 302));
  const headers = url.origin === previous.url.origin
    ? previous.headers
    : Object.fromEntries(Object.entries(previous.headers).filter(([name]) => !FIRST_ORIGIN_HEADERS.has(name.toLowerCase())));
  return asGet && previous.method !== 'HEAD' ? { url, method: 'GET', headers, body: undefined } : { url, method: previous.method, headers, body: previous.body };
}

function requestHeaders(configured: Record<string, string> | undefined): Record<string, string> {
  const headers = { ...configured };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'user-agent')) headers['user-agent'] = 'probebot';
  return headers;
}
