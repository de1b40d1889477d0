import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { TlsTarget } from '../config/schema.js';
import { formatDuration } from '../config/durations.js';
import { describeConnectError } from './tcp.js';
import { secureContexts } from './tls-files.js';
import { describeAbort, type Probe, type ProbePhases, type ProbeResult } from './types.js';

const DAY_MS = 86_400_000;

/**
 * Completes a TLS handshake and judges the peer certificate: the chain must verify (unless
 * `insecure`; against `caFile` when given) and it must stay valid for at least
 * `expect.certValidFor`. `certFile`/`keyFile` answer a server that asks for a client certificate.
 */
export const probeTls: Probe<TlsTarget> = (target, signal) => {
  const at = Date.now();
  const started = performance.now();
  const named = isIP(target.host) === 0;
  if (signal.aborted) {
    return Promise.resolve({ ok: false, at, latencyMs: 0, error: describeAbort(signal, target.timeout, named ? 'resolving host' : 'connecting') });
  }
  return new Promise<ProbeResult>((resolve) => {
    const phases: ProbePhases = {};
    let phase = named ? 'resolving host' : 'connecting';
    let mark = started;
    let done = false;
    const elapsed = (): number => {
      const now = performance.now();
      const span = now - mark;
      mark = now;
      return span;
    };
    // Verification is judged below rather than by rejecting the handshake, so an untrusted
    // certificate still reports its expiry.
    const options: ConnectionOptions = { host: target.host, port: target.port, rejectUnauthorized: false };
    const servername = target.servername ?? (named ? target.host : undefined);
    if (servername !== undefined) options.servername = servername;
    try {
      const secureContext = secureContexts.for(target);
      if (secureContext !== undefined) options.secureContext = secureContext;
    } catch (error) {
      return resolve({ ok: false, at, latencyMs: performance.now() - started, error: (error as Error).message });
    }
    const socket = connect(options);

    const finish = (error?: string, details?: ProbeResult['details']): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      const result: ProbeResult = { ok: error === undefined, at, latencyMs: performance.now() - started, phases };
      if (error !== undefined) result.error = error;
      if (details !== undefined) result.details = details;
      resolve(result);
    };
    const onAbort = (): void => finish(describeAbort(signal, target.timeout, phase));

    signal.addEventListener('abort', onAbort, { once: true });
    if (named) socket.once('lookup', () => { phases.dns = elapsed(); phase = 'connecting'; });
    socket.once('connect', () => { phases.connect = elapsed(); phase = 'tls handshake'; });
    socket.once('secureConnect', () => {
      phases.tls = elapsed();
      const certificate = socket.getPeerCertificate();
      if (!certificate || Object.keys(certificate).length === 0) return finish('server sent no certificate');
      const facts = describeCertificate(certificate, Date.now());
      const untrusted = target.insecure ? undefined : checkCertificateTrust(socket);
      finish(untrusted ?? checkCertificateExpiry(Date.parse(certificate.valid_to), Date.now(), target.expect.certValidFor), facts);
    });
    socket.on('error', (error) => finish(describeConnectError(error)));
  });
};

/**
 * "certificate not trusted: DEPTH_ZERO_SELF_SIGNED_CERT" when the chain or the host name did
 * not verify. Probes connect with rejectUnauthorized off and judge here, so an untrusted
 * certificate still shows its expiry and the wording is the same for TLS and HTTPS targets.
 */
export function checkCertificateTrust(socket: TLSSocket): string | undefined {
  return socket.authorized ? undefined : `certificate not trusted: ${String(socket.authorizationError)}`;
}

/** Details worth showing for a peer certificate. */
export function describeCertificate(certificate: PeerCertificate, now: number): Record<string, string | number> {
  const validTo = Date.parse(certificate.valid_to);
  return {
    daysLeft: Math.floor((validTo - now) / DAY_MS),
    subject: formatName(certificate.subject),
    issuer: formatName(certificate.issuer),
    validTo: Number.isNaN(validTo) ? certificate.valid_to : new Date(validTo).toISOString(),
  };
}

/**
 * "certificate expires in 3 days (< 14d)" when the certificate ends sooner than `minValidMs`
 * from `now`, "certificate expired 2 days ago" when it has ended; undefined when it is fine.
 */
export function checkCertificateExpiry(validTo: number, now: number, minValidMs: number): string | undefined {
  if (Number.isNaN(validTo)) return 'certificate has no readable expiry date';
  const left = validTo - now;
  if (left >= minValidMs) return undefined;
  if (left <= 0) return `certificate expired ${formatSpan(-left)} ago`;
  return `certificate expires in ${formatSpan(left)} (< ${formatDuration(minValidMs)})`;
}

function formatSpan(ms: number): string {
  if (ms >= DAY_MS) {
    const days = Math.floor(ms / DAY_MS);
    return days === 1 ? '1 day' : `${days} days`;
  }
  return formatDuration(ms < 60_000 ? Math.round(ms / 1000) * 1000 : Math.round(ms / 60_000) * 60_000);
}

/** "CN=example.com, O=Example" from a certificate's subject or issuer. */
function formatName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`).join(', ');
}
