/**
 * What a person typed after the slash command, as an action. Pure: no config, no I/O; whether a
 * word names a configured target or an address is decided later, against the live config.
 */
import type { SilenceMatcher } from '../alerts/silences.js';
import { parseDuration } from '../config/durations.js';

export type SlackCommand =
  | { kind: 'help'; problem?: string }
  | { kind: 'probe'; inputs: string[]; public: boolean }
  | { kind: 'status'; labels: Record<string, string>; page: number; public: boolean }
  | { kind: 'silences'; public: boolean }
  | { kind: 'silence'; matcher: SilenceMatcher; durationMs: number; reason: string }
  | { kind: 'unsilence'; idOrTarget: string };

/** More than this in one command is refused: each is a probe, and the answer must stay readable. */
export const MAX_PROBES_PER_COMMAND = 10;
export const MAX_SILENCE_MS = 90 * 86_400_000;
export const DEFAULT_SILENCE_REASON = 'silenced from Slack';

const PUBLIC_FLAG = '--public';
const LABEL = /^([^=\s]+)=(.*)$/;

export function parseCommand(text: string): SlackCommand {
  const words = slackText(text).split(/\s+/).filter((word) => word !== '');
  const isPublic = words.some((word) => word.toLowerCase() === PUBLIC_FLAG);
  const args = words.filter((word) => word.toLowerCase() !== PUBLIC_FLAG);
  const [first, ...rest] = args;
  if (first === undefined) return { kind: 'help' };
  switch (first.toLowerCase()) {
    case 'help':
      return { kind: 'help' };
    case 'status':
      return parseStatus(rest, isPublic);
    case 'silences':
      return rest.length === 0 ? { kind: 'silences', public: isPublic } : { kind: 'help', problem: '`silences` takes nothing after it.' };
    case 'silence':
      return parseSilence(rest);
    case 'unsilence':
      return rest.length === 1 ? { kind: 'unsilence', idOrTarget: rest[0]! } : { kind: 'help', problem: '`unsilence` takes one silence ID or target name.' };
    default:
      if (args.length > MAX_PROBES_PER_COMMAND) return { kind: 'help', problem: `At most ${MAX_PROBES_PER_COMMAND} targets at once.` };
      if (args.some((word) => word.startsWith('--'))) return { kind: 'help', problem: `Unknown option ${args.find((word) => word.startsWith('--'))!}.` };
      return { kind: 'probe', inputs: args, public: isPublic };
  }
}

function parseStatus(words: string[], isPublic: boolean): SlackCommand {
  const labels: Record<string, string> = {};
  let page = 1;
  for (const word of words) {
    const match = LABEL.exec(word);
    if (!match) return { kind: 'help', problem: `\`status\` takes label=value filters, e.g. \`status team=core\`; \`${word}\` is not one.` };
    const [, key, value] = match as unknown as [string, string, string];
    if (key.toLowerCase() === 'page') {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1) return { kind: 'help', problem: '`page=` needs a page number, e.g. `page=2`.' };
      page = Number(value);
    } else labels[key] = value;
  }
  return { kind: 'status', labels, page, public: isPublic };
}

/** `silence <target | label=value…> <duration> [reason…]`. */
function parseSilence(words: string[]): SlackCommand {
  const usage = '`silence <target | label=value> <duration> [reason]`, e.g. `silence api 2h deploy`';
  const labels: Record<string, string> = {};
  let index = 0;
  for (; index < words.length; index++) {
    const match = LABEL.exec(words[index]!);
    if (!match) break;
    labels[match[1]!] = match[2]!;
  }
  const labelled = index > 0;
  const target = labelled ? undefined : words[index++];
  const durationText = words[index++];
  if ((!labelled && target === undefined) || durationText === undefined) return { kind: 'help', problem: `Usage: ${usage}.` };
  const durationMs = parseDuration(durationText.toLowerCase());
  if (durationMs === undefined || durationMs <= 0) return { kind: 'help', problem: `\`${durationText}\` is not a duration: use one like 30m, 2h or 1d. Usage: ${usage}.` };
  if (durationMs > MAX_SILENCE_MS) return { kind: 'help', problem: 'A silence can last at most 90d; use a maintenance window in rules.yaml for longer.' };
  const reason = words.slice(index).join(' ').trim();
  const matcher: SilenceMatcher = labelled ? { labels } : { target: target!.toLowerCase() };
  return { kind: 'silence', matcher, durationMs, reason: reason === '' ? DEFAULT_SILENCE_REASON : reason };
}

/**
 * Slash command text as typed: links unwrapped (`<http://a|a>` → `http://a`) and the three
 * entities Slack escapes decoded, in that order so an escaped `&amp;` inside a link survives.
 */
export function slackText(text: string): string {
  return text
    .replace(/<([^<>|]+)(?:\|[^<>]*)?>/g, (_match, inner: string) => inner)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}
