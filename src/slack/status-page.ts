/**
 * `/probe status`: every target (or those matching labels), worst first: DOWN, flapping,
 * UNKNOWN, UP, each with since when, the last latency and a sparkline of recent latencies.
 * Long lists are split into pages of PAGE_SIZE targets, one page per answer, with the command
 * for the next page at the bottom: stateless, so it works for any fleet size and never runs
 * into response_url's five messages. Pure.
 */
import { humanLatency, truncate } from '../alerts/summary.js';
import type { Target } from '../config/schema.js';
import type { TargetStatus } from '../monitor/types.js';
import { escapeMrkdwn, slackDate } from './blocks.js';
import { context, labelText, packLines, section, stateEmoji, type AnswerBlock, type SlackAnswer } from './responses.js';

export const PAGE_SIZE = 50;
const MAX_LINE_CHARS = 400;
const MAX_ERROR_CHARS = 120;
const BARS = '▁▂▃▄▅▆▇█';

export type StatusGroup = 'DOWN' | 'FLAPPING' | 'UNKNOWN' | 'UP';
const GROUP_ORDER: readonly StatusGroup[] = ['DOWN', 'FLAPPING', 'UNKNOWN', 'UP'];
const GROUP_TITLES: Record<StatusGroup, string> = { DOWN: 'DOWN', FLAPPING: 'Flapping', UNKNOWN: 'UNKNOWN', UP: 'UP' };

export interface StatusEntry {
  target: Target;
  status: TargetStatus | undefined;
}

export interface StatusOptions {
  labels: Readonly<Record<string, string>>;
  page: number;
  command: string;
  public: boolean;
}

export function statusGroup(status: TargetStatus | undefined): StatusGroup {
  if (status === undefined || (status.state === 'UNKNOWN' && !status.flapping)) return 'UNKNOWN';
  if (status.state === 'DOWN') return 'DOWN';
  return status.flapping ? 'FLAPPING' : status.state;
}

export function statusAnswer(entries: readonly StatusEntry[], options: StatusOptions): SlackAnswer {
  const type = options.public ? 'in_channel' : 'ephemeral';
  const filter = labelText(options.labels);
  if (entries.length === 0) {
    const text = filter === '' ? 'No targets are configured.' : `No targets match \`${escapeMrkdwn(filter)}\`.`;
    return { response_type: type, text, blocks: [section(text)] };
  }
  const sorted = GROUP_ORDER.flatMap((group) => entries.filter((entry) => statusGroup(entry.status) === group));
  const pages = Math.ceil(sorted.length / PAGE_SIZE);
  if (options.page > pages) {
    const text = `There ${pages === 1 ? 'is only 1 page' : `are only ${pages} pages`}; try \`${options.command} status${filter === '' ? '' : ` ${escapeMrkdwn(filter)}`} page=${pages}\`.`;
    return { response_type: 'ephemeral', text, blocks: [section(text)] };
  }
  const counts = GROUP_ORDER.map((group) => [group, sorted.filter((entry) => statusGroup(entry.status) === group).length] as const);
  const summary = counts.filter(([, count]) => count > 0).map(([group, count]) => `${count} ${GROUP_TITLES[group]}`).join(' · ');
  const title = `${sorted.length === 1 ? '1 target' : `${sorted.length} targets`}${filter === '' ? '' : ` matching ${filter}`}`;
  const shown = sorted.slice((options.page - 1) * PAGE_SIZE, options.page * PAGE_SIZE);
  const blocks: AnswerBlock[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(`Status: ${title}`, 150), emoji: true } }, context(summary)];
  for (const group of GROUP_ORDER) {
    const members = shown.filter((entry) => statusGroup(entry.status) === group);
    if (members.length === 0) continue;
    blocks.push(...packLines([`*${GROUP_TITLES[group]}*`, ...members.map(statusLine)], 10));
  }
  if (pages > 1) {
    const next = options.page < pages ? ` · next: \`${options.command} status${filter === '' ? '' : ` ${escapeMrkdwn(filter)}`} page=${options.page + 1}\`` : '';
    blocks.push(context(`Page ${options.page} of ${pages}${next}`));
  }
  return { response_type: type, text: `Status: ${title}: ${summary}`, blocks };
}

/** "🔴 *api* since <date> · 123 ms · ▁▂▃▅█ · connect ECONNREFUSED 10.0.0.5:443". */
function statusLine(entry: StatusEntry): string {
  const { status } = entry;
  const parts = [`${stateEmoji(status)} *${escapeMrkdwn(entry.target.name)}*`];
  if (status === undefined) return truncate(`${parts[0]!} not probed yet`, MAX_LINE_CHARS);
  parts.push(`since ${slackDate(status.since)}`);
  if (status.lastResult !== undefined) parts.push(humanLatency(status.lastResult.latencyMs));
  const line = sparkline(status.recentLatencies);
  if (line !== '') parts.push(line);
  const error = status.lastResult?.ok === false ? status.lastResult.error : undefined;
  if (error !== undefined && status.state !== 'UP') parts.push(`\`${escapeMrkdwn(truncate(error.replace(/`/g, "'"), MAX_ERROR_CHARS))}\``);
  return truncate(parts.join(' · '), MAX_LINE_CHARS);
}

/**
 * ▁▂▃▄▅▆▇█ from the lowest to the highest value shown; a steady series is a flat middle line.
 * Values that are not finite numbers are left out.
 */
export function sparkline(values: readonly number[]): string {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return '';
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (max === min) return BARS[3]!.repeat(finite.length);
  return finite.map((value) => BARS[Math.round(((value - min) / (max - min)) * (BARS.length - 1))]!).join('');
}
