/** The HTTP probe's verdicts on a response, as pure functions: each returns a reason or undefined. */
import { truncate } from '../alerts/summary.js';
import type { HttpTarget } from '../config/schema.js';
import { checkCertificateExpiry } from './tls.js';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** What the probe saw, as the checks need it. */
export interface HttpResponseFacts {
  status: number;
  /** Response headers as undici gives them: lower-case names, repeated ones as arrays. */
  headers: Record<string, string | string[] | undefined>;
  /** Whether the final response is a redirect the probe should have followed but hit maxRedirects. */
  redirectLimitReached: boolean;
  /** The body as read (up to maxBodyBytes); undefined when no body check asked for it. */
  bodyText: string | undefined;
  bytesRead: number;
  truncated: boolean;
  /** The peer certificate's notAfter (ms since the epoch) when the final hop was https. */
  certValidTo: number | undefined;
  now: number;
}

/** Longest header or JSON value quoted in a reason: enough to recognise, short enough for Slack. */
const QUOTED_VALUE_CHARS = 80;

/** Whether any check reads the body's text (otherwise it is counted and dropped). */
export function needsBodyText(expect: HttpTarget['expect']): boolean {
  return expect.bodyContains !== undefined || expect.bodyRegex !== undefined || expect.bodyNotContains !== undefined
    || expect.bodyNotRegex !== undefined || expect.json !== undefined;
}

/**
 * The first failed expectation, in the order a person would look: status, headers, body, JSON,
 * certificate. (Latency, the last, is judged by the registry for every probe type.)
 */
export function judgeHttpResponse(expect: HttpTarget['expect'], maxRedirects: number, facts: HttpResponseFacts): string | undefined {
  if (facts.redirectLimitReached) return `more than ${maxRedirects} redirects (last status ${facts.status})`;
  return checkStatus(facts.status, expect.status)
    ?? checkHeaders(facts.headers, expect.headers)
    ?? checkBody(facts, expect)
    ?? checkJson(facts, expect.json)
    ?? checkCertificate(facts, expect.certValidFor);
}

/** "status 503, expected 200"; any 2xx passes when no list is given. */
export function checkStatus(status: number, expected: readonly number[] | undefined): string | undefined {
  if (expected === undefined) return status >= 200 && status < 300 ? undefined : `status ${status}, expected 2xx`;
  if (expected.includes(status)) return undefined;
  const wanted = expected.length <= 2 ? expected.join(' or ') : `one of ${expected.join(', ')}`;
  return `status ${status}, expected ${wanted}`;
}

/**
 * `header content-type "text/html", expected /json/`, `header x-ready missing, expected /yes/`.
 * A set-cookie value is not quoted: reasons go to logs and Slack, and it may be a session.
 */
export function checkHeaders(headers: HttpResponseFacts['headers'], expected: Record<string, string> | undefined): string | undefined {
  if (expected === undefined) return undefined;
  for (const [name, pattern] of Object.entries(expected)) {
    const lower = name.toLowerCase();
    const raw = headers[lower];
    if (raw === undefined) return `header ${lower} missing, expected /${pattern}/`;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (new RegExp(pattern).test(value)) continue;
    const shown = lower === 'set-cookie' ? '' : ` ${quote(value)}`;
    return `header ${lower}${shown}, expected /${pattern}/`;
  }
  return undefined;
}

/** `body does not contain "ok"`, `body does not match /^ready/`, noting when only a prefix was read. */
export function checkBody(
  facts: Pick<HttpResponseFacts, 'bodyText' | 'bytesRead' | 'truncated'>,
  expect: Pick<HttpTarget['expect'], 'bodyContains' | 'bodyRegex' | 'bodyNotContains' | 'bodyNotRegex'>,
): string | undefined {
  const text = facts.bodyText ?? '';
  const where = facts.truncated ? ` (in the first ${facts.bytesRead} bytes)` : '';
  if (expect.bodyContains !== undefined && !text.includes(expect.bodyContains)) {
    return `body does not contain ${JSON.stringify(expect.bodyContains)}${where}`;
  }
  if (expect.bodyRegex !== undefined && !new RegExp(expect.bodyRegex).test(text)) {
    return `body does not match /${expect.bodyRegex}/${where}`;
  }
  if (expect.bodyNotContains !== undefined && text.includes(expect.bodyNotContains)) {
    return `body contains ${JSON.stringify(expect.bodyNotContains)}`;
  }
  if (expect.bodyNotRegex !== undefined && new RegExp(expect.bodyNotRegex).test(text)) {
    return `body matches /${expect.bodyNotRegex}/`;
  }
  return undefined;
}

type JsonScalar = string | number | boolean | null;

/**
 * `json status is "DOWN", expected "UP"`, `json data.version missing, expected 3`, or why the
 * body is not JSON. Values compare strictly: "3" is not 3.
 */
export function checkJson(facts: Pick<HttpResponseFacts, 'bodyText' | 'bytesRead' | 'truncated'>, expected: Record<string, JsonScalar> | undefined): string | undefined {
  if (expected === undefined) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(facts.bodyText ?? '');
  } catch (error) {
    if (facts.truncated) return `body is not complete JSON: only the first ${facts.bytesRead} bytes were read (maxBodyBytes)`;
    return `body is not JSON (${truncate((error as Error).message, QUOTED_VALUE_CHARS)})`;
  }
  for (const [path, want] of Object.entries(expected)) {
    const found = valueAt(document, path);
    if (found.present && found.value === want) continue;
    return `json ${path} ${found.present ? `is ${quote(found.value)}` : 'missing'}, expected ${JSON.stringify(want)}`;
  }
  return undefined;
}

/** Follows `data.items[0].state` into a parsed document; a key never matches an array index. */
function valueAt(document: unknown, path: string): { present: boolean; value?: unknown } {
  let node = document;
  for (const [, key, index] of path.matchAll(/\.?([^.[\]]+)|\[(\d+)\]/g)) {
    if (index !== undefined) {
      if (!Array.isArray(node) || Number(index) >= node.length) return { present: false };
      node = node[Number(index)];
    } else {
      if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key!)) return { present: false };
      node = (node as Record<string, unknown>)[key!];
    }
  }
  return { present: true, value: node };
}

/** A value as JSON, cut to QUOTED_VALUE_CHARS. */
function quote(value: unknown): string {
  return truncate(JSON.stringify(value) ?? String(value), QUOTED_VALUE_CHARS);
}

function checkCertificate(facts: Pick<HttpResponseFacts, 'certValidTo' | 'now'>, certValidFor: number | undefined): string | undefined {
  if (certValidFor === undefined) return undefined;
  if (facts.certValidTo === undefined) return 'no certificate to check: the response did not come over https';
  return checkCertificateExpiry(facts.certValidTo, facts.now, certValidFor);
}
