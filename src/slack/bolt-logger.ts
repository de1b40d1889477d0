/**
 * Bolt's, the Web API client's and the Socket Mode client's own log lines, into our pino logger
 * at debug: probebot reports what matters itself, in one line each. Their debug output can hold
 * tokens, response_urls (which let anyone post into a channel for 30 minutes), socket tickets
 * and request bodies, so every line is scrubbed first.
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../log.js';

const MAX_LINE_CHARS = 2000;

const SECRETS: Array<[RegExp, string]> = [
  [/xox[a-z]-[A-Za-z0-9-]+/g, 'xox*-[redacted]'],
  [/xapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]'],
  [/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]'],
  [/https:\/\/hooks\.slack\.com\/[^\s"'\\&]+/g, '[response_url]'],
  [/(response_url["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi, '$1[redacted]'],
  [/([?&]ticket=)[^&\s"']+/g, '$1[redacted]'],
  [/(["']?token["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi, '$1[redacted]'],
  [/(["']?trigger_id["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi, '$1[redacted]'],
];

export function redactSecrets(text: string): string {
  return SECRETS.reduce((scrubbed, [pattern, replacement]) => scrubbed.replace(pattern, replacement), text);
}

export function boltLogger(logger: Logger, component = 'slack-bolt'): SlackLogger {
  const write = (level: string) => (...message: unknown[]) => {
    if (!logger.isLevelEnabled('debug')) return;
    const text = message.map(describe).join(' ');
    logger.debug({ component, boltLevel: level }, redactSecrets(text).slice(0, MAX_LINE_CHARS));
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel: () => undefined,
    // The Socket Mode client builds debug strings only when told debug is on.
    getLevel: () => (logger.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.WARN),
    setName: () => undefined,
  };
}

function describe(part: unknown): string {
  if (part instanceof Error) return part.message;
  if (typeof part === 'string') return part;
  try {
    return JSON.stringify(part) ?? String(part);
  } catch {
    return String(part);
  }
}
