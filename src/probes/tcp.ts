import { connect, isIP } from 'node:net';
import type { TcpTarget } from '../config/schema.js';
import { describeAbort, type Probe, type ProbePhases, type ProbeResult } from './types.js';

/**
 * Opens a TCP connection and closes it as soon as it is established. The signal is the only
 * connect deadline: `socket.setTimeout` is an idle timer, and the kernel's SYN retries to a
 * blackholed port would otherwise last minutes.
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
      if (error === undefined) phases.connect = ended - (resolvedAt ?? started);
      const result: ProbeResult = { ok: error === undefined, at, latencyMs: ended - started, phases };
      if (error !== undefined) result.error = error;
      resolve(result);
    };
    const onAbort = (): void => {
      const phase = named && resolvedAt === undefined ? 'resolving host' : 'connecting';
      finish(describeAbort(signal, target.timeout, phase));
    };

    signal.addEventListener('abort', onAbort, { once: true });
    // Happy eyeballs may emit one lookup per address tried; the first ends the dns phase.
    if (named) socket.once('lookup', () => { resolvedAt ??= performance.now(); });
    socket.once('connect', () => finish());
    socket.on('error', (error) => finish(describeConnectError(error)));
  });
};

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
