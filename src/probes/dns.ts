import { lookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DnsTarget } from '../config/schema.js';
import { describeConnectError } from './tcp.js';
import { describeAbort, type Probe, type ProbeResult } from './types.js';

const ANSWERS_SHOWN = 20;
const ANSWERS_IN_ERROR = 5;

/**
 * Asks for one record type and checks the answers. A new Resolver per probe: its own c-ares
 * channel, so no cached answer can hide a resolver that stopped answering. The signal cancels
 * the query; c-ares' own timers are set to retry once within the deadline and never give up
 * before it.
 */
export const probeDns: Probe<DnsTarget> = async (target, signal) => {
  const at = Date.now();
  const started = performance.now();
  const resolver = new Resolver({ timeout: Math.ceil(target.timeout / 2), tries: 2 });
  const cancel = (): void => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  let phase = target.server === undefined ? 'waiting for answer' : 'resolving server';
  let answers: string[] | undefined;
  let error: string | undefined;
  try {
    signal.throwIfAborted();
    if (target.server !== undefined) {
      resolver.setServers([await serverAddress(target.server, signal)]);
      phase = 'waiting for answer';
    }
    answers = await queryRecords(resolver, target.query, target.recordType);
    error = judgeAnswers(target, answers);
  } catch (failure) {
    if (signal.aborted) error = describeAbort(signal, target.timeout, phase);
    else if ((failure as NodeJS.ErrnoException).code === 'ENODATA') error = judgeAnswers(target, (answers = []));
    else error = describeConnectError(failure);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  const result: ProbeResult = { ok: error === undefined, at, latencyMs: performance.now() - started };
  if (answers !== undefined) result.details = { answers: answers.slice(0, ANSWERS_SHOWN), answerCount: answers.length };
  if (error !== undefined) result.error = error;
  return result;
};

/** The answers as text a `contains` can match: "10 mail.example.com" for MX, TXT strings joined. */
async function queryRecords(resolver: Resolver, name: string, type: DnsTarget['recordType']): Promise<string[]> {
  switch (type) {
    case 'A': return resolver.resolve4(name);
    case 'AAAA': return resolver.resolve6(name);
    case 'CNAME': return resolver.resolveCname(name);
    case 'NS': return resolver.resolveNs(name);
    // An address is looked up the way `dig -x` does; a name is asked for as written.
    case 'PTR': return isIP(name) ? resolver.reverse(name) : resolver.resolvePtr(name);
    case 'MX': return (await resolver.resolveMx(name)).map((mx) => `${mx.priority} ${mx.exchange}`);
    case 'TXT': return (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
    case 'SRV': return (await resolver.resolveSrv(name)).map((srv) => `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}`);
    case 'SOA': {
      const soa = await resolver.resolveSoa(name);
      return [`${soa.nsname} ${soa.hostmaster} ${soa.serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minttl}`];
    }
    case 'CAA': return (await resolver.resolveCaa(name)).map(({ critical, ...tag }) => `${critical} ${Object.entries(tag).map(([key, value]) => `${key} ${String(value)}`).join(' ')}`);
  }
}

function judgeAnswers(target: DnsTarget, answers: string[]): string | undefined {
  const { contains, minAnswers } = target.expect;
  if (answers.length < minAnswers) {
    return answers.length === 0
      ? `no ${target.recordType} records for ${target.query}`
      : `${answers.length} ${target.recordType} records for ${target.query}, expected at least ${minAnswers}`;
  }
  if (contains !== undefined && !answers.some((answer) => answer.includes(contains))) {
    const shown = answers.slice(0, ANSWERS_IN_ERROR).join(', ') + (answers.length > ANSWERS_IN_ERROR ? ', …' : '');
    return `no answer contains ${JSON.stringify(contains)} (got ${shown || 'no answers'})`;
  }
  return undefined;
}

/**
 * The `server` setting as setServers takes it: "10.0.0.2", "10.0.0.2:5353", "[::1]:53" pass
 * through; a host name is looked up first (setServers only takes addresses).
 */
async function serverAddress(server: string, signal: AbortSignal): Promise<string> {
  const match = /^\[(.+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server);
  if (!match || isIP(match[1]!) !== 0) return server;
  const [, host, port] = match;
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const { address, family } = await Promise.race([lookup(host!), aborted]).finally(() => signal.removeEventListener('abort', onAbort));
  if (port === undefined) return address;
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
