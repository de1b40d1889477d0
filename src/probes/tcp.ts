import { connect, isIP } from 'node:net';
import { truncate } from '../alerts/summary.js';
import type { TcpTarget } from '../config/schema.js';
import { describeAbort, type Probe, type ProbePhases, type ProbeResult } from './types.js';

/** Longest part of a reply quoted in a result: a banner's first line fits. */
const QUOTED_REPLY_CHARS = 80;
const DEFAULT_MAX_REPLY_BYTES = 4096;

/**
 * Opens a TCP connection and closes it as soon as it is established, or, when the target says
 * so, once `send` is written and the reply matches `expect.replyRegex`. The signal is the only
 * deadline: `socket.setTimeout` is an idle timer, and the kernel's SYN retries to a blackholed
 * port would otherwise last minutes.
 */
export const probeTcp: Probe<TcpTarget> = (target, signal) => {
  const at = Date.now();
  const started = performance.now();
  const named = isIP(target.host) === 0;
  if (signal.aborted) {
    return Promise.resolve({ ok: false, at, latencyMs: 0, error: describeAbort(signal, target.timeout, named ? 'resolving host' : 'connecting') });
  }
  return new Promise<ProbeResult>((resolve) => {
    let resolvedAt: number | undefined;
    let connectedAt: number | undefined;
    let reply: Reply | undefined;
    let done = false;
    const socket = connect({ host: target.host, port: target.port });

    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      const ended = performance.now();
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      const phases: ProbePhases = {};
      if (resolvedAt !== undefined) phases.dns = resolvedAt - started;
      connectedAt ??= error === undefined ? ended : undefined;
      if (connectedAt !== undefined) phases.connect = connectedAt - (resolvedAt ?? started);
      if (reply !== undefined && error === undefined) phases.firstByte = ended - connectedAt!;
      const result: ProbeResult = { ok: error === undefined, at, latencyMs: ended - started, phases };
      if (reply?.firstLine !== undefined) result.details = { reply: reply.firstLine };
      if (error !== undefined) result.error = error;
      resolve(result);
    };
    const onAbort = (): void => {
      const phase = connectedAt !== undefined ? (reply ? 'waiting for reply' : 'sending') : named && resolvedAt === undefined ? 'resolving host' : 'connecting';
      finish(describeAbort(signal, target.timeout, phase));
    };
    const replyRegex = target.expect?.replyRegex;
    const converse = (): void => {
      connectedAt = performance.now();
      if (replyRegex !== undefined) {
        reply = new Reply(new RegExp(replyRegex), target.expect?.maxBytes ?? DEFAULT_MAX_REPLY_BYTES);
        socket.on('data', (chunk: Buffer) => {
          const verdict = reply!.add(chunk);
          if (verdict !== 'waiting') finish(verdict.error);
        });
        socket.once('end', () => finish(reply!.closedWithout()));
      }
      if (target.send !== undefined) socket.write(target.send, () => { if (!reply) finish(); });
    };

    signal.addEventListener('abort', onAbort, { once: true });
    // Happy eyeballs may emit one lookup per address tried; the first ends the dns phase.
    if (named) socket.once('lookup', () => { resolvedAt ??= performance.now(); });
    socket.once('connect', () => (target.send === undefined && replyRegex === undefined ? finish() : converse()));
    socket.on('error', (error) => finish(describeConnectError(error)));
  });
};

type ReplyVerdict = 'waiting' | { error?: string };

/** What the server has sent so far, held to maxBytes, and whether it matches yet. */
class Reply {
  private text = '';
  private bytes = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly pattern: RegExp, private readonly maxBytes: number) {}

  /** The first line received, cut to QUOTED_REPLY_CHARS: an SSH or SMTP banner. */
  get firstLine(): string | undefined {
    const line = this.text.split(/\r?\n/, 1)[0]!;
    return line === '' ? undefined : truncate(line, QUOTED_REPLY_CHARS);
  }

  add(chunk: Buffer): ReplyVerdict {
    const room = this.maxBytes - this.bytes;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.bytes += part.length;
    this.text += this.decoder.decode(part, { stream: true });
    if (this.pattern.test(this.text)) return {};
    if (this.bytes < this.maxBytes) return 'waiting';
    return { error: `reply does not match /${this.pattern.source}/ in its first ${this.maxBytes} bytes: ${JSON.stringify(truncate(this.text, QUOTED_REPLY_CHARS))}` };
  }

  closedWithout(): string {
    if (this.bytes === 0) return `connection closed with no reply, expected /${this.pattern.source}/`;
    return `connection closed; reply does not match /${this.pattern.source}/: ${JSON.stringify(truncate(this.text, QUOTED_REPLY_CHARS))}`;
  }
}

/**
 * One line for a failed connection: Node's own "connect ECONNREFUSED 127.0.0.1:5432", the
 * attempts of a happy-eyeballs connect joined, and the code added when the message lacks it
 * ("self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)").
 */
export function describeConnectError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(describeConnectError))].join('; ');
  }
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message || error.name;
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}
