/**
 * Block Kit answers to the slash command and the buttons: probe results, silences, help and
 * refusals (the status pages are in status-page.ts). Pure: data and `now` in, a message out,
 * always within Slack's limits.
 */
import type { Silence, SilenceMatcher } from '../alerts/silences.js';
import { humanDuration, humanLatency, truncate } from '../alerts/summary.js';
import { targetAddress } from '../config/address.js';
import type { Target, TargetType } from '../config/schema.js';
import type { TargetStatus } from '../monitor/types.js';
import { formatMs } from '../probes/format.js';
import type { ProbeResult } from '../probes/types.js';
import { BLOCK_LIMITS, escapeMrkdwn, slackDate, type Mrkdwn, type SlackBlock } from './blocks.js';
import { MAX_PROBES_PER_COMMAND } from './commands.js';
import type { SlackUser } from './port.js';

export type AnswerBlock = SlackBlock | { type: 'divider' };

/** A message for response_url (or an ack): ephemeral unless asked to show the channel. */
export interface SlackAnswer {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  blocks: AnswerBlock[];
  replace_original?: boolean;
}

export type ProbeOutcome =
  | { kind: 'configured'; target: Target; result: ProbeResult; status: TargetStatus | undefined }
  | { kind: 'adhoc'; shown: string; connectTo: string; targetType: TargetType; result: ProbeResult; notes: string[] }
  | { kind: 'refused'; input: string; reason: string };

const MAX_DETAIL_CHARS = 500;
const MAX_LINE_CHARS = 400;
/** The notification text: a summary, not the message. */
const MAX_FALLBACK_CHARS = 3000;

export function probeAnswer(outcomes: readonly ProbeOutcome[], options: { public: boolean; requestedBy: SlackUser }): SlackAnswer {
  const blocks: AnswerBlock[] = [];
  for (const outcome of outcomes.slice(0, MAX_PROBES_PER_COMMAND)) {
    if (blocks.length > 0) blocks.push({ type: 'divider' });
    blocks.push(...outcomeBlocks(outcome));
  }
  const probed = outcomes.some((outcome) => outcome.kind !== 'refused');
  if (probed) blocks.push(context(`Probed now for <@${options.requestedBy.id}>; schedules and target states are unchanged.`));
  return { response_type: options.public ? 'in_channel' : 'ephemeral', text: truncate(outcomes.map((outcome) => truncate(outcomeLine(outcome), 300)).join('\n'), MAX_FALLBACK_CHARS), blocks };
}

function outcomeBlocks(outcome: ProbeOutcome): AnswerBlock[] {
  if (outcome.kind === 'refused') return [section(`🚫 \`${escapeMrkdwn(truncate(outcome.input, 200))}\`: ${escapeMrkdwn(outcome.reason)}`)];
  const { result } = outcome;
  const fields: Array<[string, string]> = [];
  if (outcome.kind === 'configured') {
    fields.push(['Type', `\`${outcome.target.type}\``], ['Address', escapeMrkdwn(targetAddress(outcome.target))]);
  } else {
    fields.push(['Type', `\`${outcome.targetType}\``], ['Connected to', escapeMrkdwn(outcome.connectTo)]);
  }
  fields.push(['Latency', latencyText(result)]);
  if (outcome.kind === 'configured') fields.push(['State', stateText(outcome.status)]);
  const details = detailsText(result);
  if (details !== '') fields.push(['Details', details]);
  const blocks: AnswerBlock[] = [{ type: 'section', text: mrkdwn(headline(outcome)), fields: fields.map(([name, value]) => mrkdwn(`*${name}*\n${value}`, BLOCK_LIMITS.fieldText)) }];
  if (outcome.kind === 'adhoc') blocks.push(context(['Ad-hoc probe: nothing is recorded', ...outcome.notes].join(' · ')));
  return blocks;
}

/** "✅ *api* ok in 12 ms" or "🔴 *api* failed after 3.00 s: timeout after 3000ms (connecting)". */
function headline(outcome: Exclude<ProbeOutcome, { kind: 'refused' }>): string {
  const { result } = outcome;
  const name = outcome.kind === 'configured' ? `*${escapeMrkdwn(outcome.target.name)}*` : `ad-hoc \`${escapeMrkdwn(outcome.shown)}\``;
  if (result.ok) return `✅ ${name} ok in ${humanLatency(result.latencyMs)}`;
  return `🔴 ${name} failed after ${humanLatency(result.latencyMs)}: \`${escapeMrkdwn(truncate((result.error ?? 'failed').replace(/`/g, "'"), MAX_DETAIL_CHARS))}\``;
}

function outcomeLine(outcome: ProbeOutcome): string {
  if (outcome.kind === 'refused') return `refused ${outcome.input}: ${outcome.reason}`;
  const name = outcome.kind === 'configured' ? outcome.target.name : outcome.shown;
  const { result } = outcome;
  return result.ok ? `ok ${name} ${humanLatency(result.latencyMs)}` : `FAIL ${name}: ${result.error ?? 'failed'}`;
}

/** "12 ms (dns 0.4ms, connect 0.3ms, firstByte 11.0ms)". */
function latencyText(result: ProbeResult): string {
  const phases = Object.entries(result.phases ?? {})
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([phase, ms]) => `${phase} ${formatMs(ms)}`);
  return `${humanLatency(result.latencyMs)}${phases.length > 0 ? ` (${phases.join(', ')})` : ''}`;
}

export function stateText(status: TargetStatus | undefined): string {
  if (status === undefined) return 'not probed yet';
  const flapping = status.flapping ? ` (flapping, ${Math.round(status.flapPercent)}%)` : '';
  return `${stateEmoji(status)} ${status.state}${flapping} since ${slackDate(status.since)}`;
}

export function stateEmoji(status: TargetStatus | undefined): string {
  if (status === undefined || status.state === 'UNKNOWN') return '⚪';
  if (status.state === 'DOWN') return '🔴';
  return status.flapping ? '🟠' : '✅';
}

function detailsText(result: ProbeResult): string {
  const parts = Object.entries(result.details ?? {}).map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  return escapeMrkdwn(truncate(parts.join(' · '), MAX_DETAIL_CHARS));
}

export function silencesAnswer(silences: readonly Silence[], now: number, isPublic: boolean): SlackAnswer {
  const type = isPublic ? 'in_channel' : 'ephemeral';
  if (silences.length === 0) return { response_type: type, text: 'No silences in force.', blocks: [section('🔔 No silences in force.')] };
  const title = `🔕 ${silences.length === 1 ? '1 silence' : `${silences.length} silences`} in force`;
  const lines = silences.map((silence) => silenceLine(silence, now));
  return { response_type: type, text: title, blocks: [section(`*${title}*`), ...packLines(lines, BLOCK_LIMITS.blocks - 1)] };
}

/** "`a1b2c3d4` *api* until <date> (59m left) · alice (U1) · deploy". */
function silenceLine(silence: Silence, now: number): string {
  return truncate(
    `\`${silence.id}\` ${matcherText(silence.matcher)} until ${slackDate(silence.until)} (${humanDuration(silence.until - now)} left) · ${escapeMrkdwn(silence.author)} · ${escapeMrkdwn(silence.reason)}`,
    MAX_LINE_CHARS,
  );
}

export function silenceAddedAnswer(silence: Silence, now: number, command: string, matching: number): SlackAnswer {
  const what = matcherText(silence.matcher);
  const none = silence.matcher.target === undefined && matching === 0 ? ' It matches no target right now.' : '';
  const text = `🔕 Silenced ${what} for ${humanDuration(silence.until - now)}, until ${slackDate(silence.until)}: ${escapeMrkdwn(silence.reason)}.${none}`;
  return {
    response_type: 'ephemeral',
    text: `Silenced ${silence.matcher.target ?? labelText(silence.matcher.labels ?? {})} (id ${silence.id})`,
    blocks: [section(text), context(`Silence \`${silence.id}\` by ${escapeMrkdwn(silence.author)} · undo with \`${command} unsilence ${silence.id}\``)],
  };
}

export function unsilencedAnswer(removed: readonly Silence[], idOrTarget: string): SlackAnswer {
  if (removed.length === 0) return refusalAnswer(`No silence has the ID or target \`${idOrTarget}\`.`);
  const lines = removed.map((silence) => `\`${silence.id}\` ${matcherText(silence.matcher)}`);
  const text = `🔔 Removed ${removed.length === 1 ? 'a silence' : `${removed.length} silences`}: alerts that were held back are told now.`;
  return { response_type: 'ephemeral', text: `Removed ${removed.length} silence(s)`, blocks: [section(text), ...packLines(lines, 10)] };
}

function matcherText(matcher: SilenceMatcher): string {
  const parts: string[] = [];
  if (matcher.target !== undefined) parts.push(`*${escapeMrkdwn(matcher.target)}*`);
  if (matcher.labels !== undefined) parts.push(`\`${escapeMrkdwn(labelText(matcher.labels))}\``);
  return parts.join(' ');
}

export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`).join(' ');
}

export function helpAnswer(command: string, adhoc: string | undefined, problem?: string): SlackAnswer {
  const lines = [
    `\`${command} <target>\`: probe a configured target now (add \`--public\` to show the answer to the channel)`,
    adhoc === undefined
      ? `\`${command} <url | host:port | host>\`: probe an address (off here: only configured targets)`
      : `\`${command} <url | host:port | host>\`: probe an address within ${escapeMrkdwn(adhoc)}`,
    `\`${command} status [label=value] [page=N]\`: every target, worst first`,
    `\`${command} silence <target | label=value> <duration> [reason]\`: hold alerts back, e.g. \`${command} silence api 2h deploy\``,
    `\`${command} unsilence <id | target>\` and \`${command} silences\``,
  ];
  const body = lines.map((line) => `• ${line}`).join('\n');
  const text = problem === undefined ? body : `${escapeMrkdwn(problem)}\n\n${body}`;
  return { response_type: 'ephemeral', text: problem ?? `${command} help`, blocks: [section(text)] };
}

export function refusalAnswer(reason: string): SlackAnswer {
  return { response_type: 'ephemeral', text: truncate(reason, MAX_FALLBACK_CHARS), blocks: [section(escapeMrkdwn(reason))] };
}

/** Lines packed into as few sections as fit (3000 chars each), at most `maxBlocks`; the rest counted. */
export function packLines(lines: readonly string[], maxBlocks: number): AnswerBlock[] {
  const blocks: AnswerBlock[] = [];
  let current: string[] = [];
  let size = 0;
  const room = BLOCK_LIMITS.sectionText - 40;
  for (const [index, line] of lines.entries()) {
    const fitted = truncate(line, room);
    if (size + fitted.length + 1 > room && current.length > 0) {
      if (blocks.length === maxBlocks - 1) {
        current.push(`…and ${lines.length - index} more`);
        break;
      }
      blocks.push(section(current.join('\n')));
      current = [];
      size = 0;
    }
    current.push(fitted);
    size += fitted.length + 1;
  }
  if (current.length > 0) blocks.push(section(current.join('\n')));
  return blocks;
}

export function section(text: string): SlackBlock {
  return { type: 'section', text: mrkdwn(text === '' ? '—' : text) };
}

export function context(text: string): SlackBlock {
  return { type: 'context', elements: [mrkdwn(text, BLOCK_LIMITS.fieldText)] };
}

function mrkdwn(text: string, max: number = BLOCK_LIMITS.sectionText): Mrkdwn {
  return { type: 'mrkdwn', text: truncate(text, max) };
}
