/** The HTTP probe's verdicts on a response, as pure functions: each returns a reason or undefined. */
import type { HttpTarget } from '../config/schema.js';
import { checkCertificateExpiry } from './tls.js';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** What the probe saw, as the checks need it. */
export interface HttpResponseFacts {
  status: number;
  /** Whether the final response is a redirect the probe should have followed but hit maxRedirects. */
  redirectLimitReached: boolean;
  /** The body as read (up to maxBodyBytes); undefined when no body check asked for it. */
  bodyText: string | undefined;
  bytesRead: number;
  truncated: boolean;
  latencyMs: number;
  /** The peer certificate's notAfter (ms since the epoch) when the final hop was https. */
  certValidTo: number | undefined;
  now: number;
}

/** The first failed expectation, in the order a person would look: status, body, certificate, latency. */
export function judgeHttpResponse(expect: HttpTarget['expect'], maxRedirects: number, facts: HttpResponseFacts): string | undefined {
  if (facts.redirectLimitReached) return `more than ${maxRedirects} redirects (last status ${facts.status})`;
  return checkStatus(facts.status, expect.status)
    ?? checkBody(facts, expect)
    ?? checkCertificate(facts, expect.certValidFor)
    ?? checkLatency(facts.latencyMs, expect.maxLatency);
}

/** "status 503, expected 200"; any 2xx passes when no list is given. */
export function checkStatus(status: number, expected: readonly number[] | undefined): string | undefined {
  if (expected === undefined) return status >= 200 && status < 300 ? undefined : `status ${status}, expected 2xx`;
  if (expected.includes(status)) return undefined;
  const wanted = expected.length <= 2 ? expected.join(' or ') : `one of ${expected.join(', ')}`;
  return `status ${status}, expected ${wanted}`;
}

/** `body does not contain "ok"`, `body does not match /^ready/`, noting when only a prefix was read. */
export function checkBody(
  facts: Pick<HttpResponseFacts, 'bodyText' | 'bytesRead' | 'truncated'>,
  expect: Pick<HttpTarget['expect'], 'bodyContains' | 'bodyRegex'>,
): string | undefined {
  const text = facts.bodyText ?? '';
  const where = facts.truncated ? ` (in the first ${facts.bytesRead} bytes)` : '';
  if (expect.bodyContains !== undefined && !text.includes(expect.bodyContains)) {
    return `body does not contain ${JSON.stringify(expect.bodyContains)}${where}`;
  }
  if (expect.bodyRegex !== undefined && !new RegExp(expect.bodyRegex).test(text)) {
    return `body does not match /${expect.bodyRegex}/${where}`;
  }
  return undefined;
}

/** "latency 950ms over budget 800ms". */
export function checkLatency(latencyMs: number, maxLatency: number | undefined): string | undefined {
  if (maxLatency === undefined || latencyMs <= maxLatency) return undefined;
  return `latency ${Math.round(latencyMs)}ms over budget ${maxLatency}ms`;
}

function checkCertificate(facts: Pick<HttpResponseFacts, 'certValidTo' | 'now'>, certValidFor: number | undefined): string | undefined {
  if (certValidFor === undefined) return undefined;
  if (facts.certValidTo === undefined) return 'no certificate to check: the response did not come over https';
  return checkCertificateExpiry(facts.certValidTo, facts.now, certValidFor);
}
