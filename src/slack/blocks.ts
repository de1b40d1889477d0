/**
 * Block Kit rendering of alert messages. Pure: the same lines give the same message, so a
 * recovery after a restart re-renders the stored lines with one of them marked UP.
 * Every message stays within Slack's limits (50 blocks, header 150, section text 3000, 10 fields
 * of 2000): long texts end in "…", big groups list the first targets and "and N more".
 */
import type { TargetType } from '../config/schema.js';
import type { AlertEvent } from '../alerts/notifier.js';
import { humanDuration, humanLatency, shownState, truncate, type ShownState } from '../alerts/summary.js';

export type PlainText = { type: 'plain_text'; text: string; emoji?: boolean };
export type Mrkdwn = { type: 'mrkdwn'; text: string };
export type SlackButton = { type: 'button'; text: PlainText; action_id: string; value?: string; style?: 'primary' | 'danger'; url?: string };
export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text?: Mrkdwn; fields?: Mrkdwn[] }
  | { type: 'context'; elements: Mrkdwn[] }
  | { type: 'actions'; elements: SlackButton[] };

/** A message as chat.postMessage/chat.update take it: `text` is the notification fallback. */
export interface SlackMessage {
  text: string;
  blocks?: SlackBlock[];
}

export const BLOCK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  actionsElements: 25,
  buttonText: 75,
  actionId: 255,
  buttonValue: 2000,
} as const;

/** At most this many targets are detailed in a grouped message; the rest are named in one block. */
export const MAX_DETAILED_TARGETS = 20;

/** One target's line in a message: what the notifier stores to re-render it later. */
export interface TargetLine {
  target: string;
  targetType: TargetType;
  address: string;
  state: ShownState;
  /** When this state began, ms since the epoch. */
  since: number;
  reason: string;
  error?: string;
  latencyMs?: number;
  labels: Record<string, string>;
  incidentId?: string;
  /** Set once the target recovered: how long it was DOWN. */
  downForMs?: number;
  suppressedBy?: string;
  dependents?: string[];
  /** Who acknowledged the incident, as shown under the line (mrkdwn); kept after the recovery. */
  acknowledged?: string;
}

export interface AlertMessage {
  kind: 'transition' | 'reminder' | 'test';
  lines: TargetLine[];
  /** Added while something is DOWN, e.g. "<!subteam^S123>". */
  mention?: string;
}

/** Where the Slack app adds its buttons (Acknowledge, Silence…); rendering stays within limits. */
export interface RenderOptions {
  targetActions?: (line: TargetLine) => SlackButton[];
  messageActions?: (message: AlertMessage) => SlackButton[];
}

const MAX_ERROR_CHARS = 500;
const TEST_NOTE = '🧪 This is a test alert sent by `probebot test-alert`: nothing is down.';

export function lineFromEvent(event: AlertEvent): TargetLine {
  const line: TargetLine = {
    target: event.target,
    targetType: event.targetType,
    address: event.address,
    state: shownState(event),
    since: event.at,
    reason: event.reason,
    latencyMs: event.result.latencyMs,
    labels: event.labels,
  };
  if (event.result.error !== undefined) line.error = truncate(event.result.error, MAX_ERROR_CHARS);
  if (event.incidentId !== undefined) line.incidentId = event.incidentId;
  if (event.downForMs !== undefined) line.downForMs = event.downForMs;
  if (event.suppressedBy !== undefined) line.suppressedBy = event.suppressedBy;
  if (event.dependents !== undefined && event.dependents.length > 0) line.dependents = event.dependents;
  return line;
}

export function renderAlertMessage(message: AlertMessage, options: RenderOptions = {}): SlackMessage {
  return message.lines.length === 1 ? renderSingle(message, message.lines[0]!, options) : renderGroup(message, options);
}

function renderSingle(message: AlertMessage, line: TargetLine, options: RenderOptions): SlackMessage {
  const blocks: SlackBlock[] = [header(`${emoji(line.state)} ${prefix(message)}${line.target} ${stateWords(line, message.kind)}`)];
  const mention = mentionFor(message);
  const reason = line.reason === '' ? stateWords(line, message.kind) : line.reason;
  const detail = line.state === 'UP' && line.downForMs !== undefined ? `Resolved after ${humanDuration(line.downForMs)}. ${reason}` : reason;
  blocks.push(section(escapeMrkdwn(detail), mention));
  blocks.push({ type: 'section', fields: targetFields(line) });
  pushAcknowledged(blocks, line);
  pushActions(blocks, options.targetActions?.(line));
  pushActions(blocks, options.messageActions?.(message));
  pushContext(blocks, message, line);
  return { text: `${emoji(line.state)} ${prefix(message)}${line.target} ${stateWords(line, message.kind)}: ${line.reason}`, blocks };
}

function renderGroup(message: AlertMessage, options: RenderOptions): SlackMessage {
  const { lines } = message;
  const title = `${emoji(worstState(lines))} ${prefix(message)}${groupCounts(lines)}`;
  const blocks: SlackBlock[] = [header(title)];
  const mention = mentionFor(message);
  if (mention !== undefined) blocks.push(section('', mention));
  const messageButtons = options.messageActions?.(message) ?? [];
  const fixed = blocks.length + 2 /* "and N more", context */ + (messageButtons.length > 0 ? 1 : 0);
  // Each detailed line takes its section, its acknowledgement and its buttons, while they fit.
  let room = BLOCK_LIMITS.blocks - fixed;
  let shown = 0;
  for (const line of lines.slice(0, MAX_DETAILED_TARGETS)) {
    const needed = 1 + (line.acknowledged !== undefined ? 1 : 0) + (options.targetActions ? 1 : 0);
    if (needed > room) break;
    room -= needed;
    shown++;
    blocks.push(section(compactLine(line)));
    pushAcknowledged(blocks, line);
    pushActions(blocks, options.targetActions?.(line));
  }
  if (lines.length > shown) {
    const room = BLOCK_LIMITS.blocks - blocks.length - (messageButtons.length > 0 ? 1 : 0) - 1 /* context */;
    blocks.push(...moreSections(lines.slice(shown), Math.max(1, room)));
  }
  pushActions(blocks, messageButtons);
  pushContext(blocks, message, undefined);
  const names = lines.slice(0, 5).map((l) => l.target).join(', ');
  const more = lines.length > 5 ? ` and ${lines.length - 5} more` : '';
  return { text: `${title}: ${names}${more}`, blocks };
}

/** A plain-text thread reply (recoveries, dependents, reminders): one line per target, cut to fit. */
export function renderReply(message: AlertMessage): SlackMessage {
  const mention = mentionFor(message);
  const head = message.kind === 'test' ? '[TEST] ' : '';
  const lines = message.lines.map((line) => {
    const via = line.suppressedBy === undefined || line.state === 'UP' ? '' : ` (depends on *${line.suppressedBy}*)`;
    return `${emoji(line.state)} ${head}*${line.target}* ${stateWords(line, message.kind)}${via}${line.reason === '' ? '' : `: ${escapeMrkdwn(line.reason)}`}`;
  });
  const body = fitLines(lines, BLOCK_LIMITS.sectionText - (mention === undefined ? 0 : mention.length + 1));
  return { text: mention === undefined ? body : `${body}\n${mention}` };
}

function targetFields(line: TargetLine): Mrkdwn[] {
  const fields: Array<[string, string]> = [
    ['Type', `\`${line.targetType}\``],
    ['Address', escapeMrkdwn(line.address)],
  ];
  if (line.error !== undefined && line.state !== 'UP') fields.push(['Error', `\`${escapeMrkdwn(line.error.replace(/`/g, "'"))}\``]);
  if (line.latencyMs !== undefined) fields.push(['Latency', humanLatency(line.latencyMs)]);
  if (line.state === 'UP' && line.downForMs !== undefined) fields.push(['Down for', humanDuration(line.downForMs)]);
  fields.push([line.state === 'UP' ? 'Recovered' : 'Since', slackDate(line.since)]);
  const labels = labelText(line.labels);
  if (labels !== '') fields.push(['Labels', labels]);
  if (line.suppressedBy !== undefined) fields.push(['Depends on', `*${line.suppressedBy}* (its alert covers this one)`]);
  if (line.dependents !== undefined) fields.push(['Dependents also down', escapeMrkdwn(line.dependents.join(', '))]);
  return fields.slice(0, BLOCK_LIMITS.fields).map(([name, value]) => mrkdwn(`*${name}*\n${value}`, BLOCK_LIMITS.fieldText));
}

/** "🔴 *api* `http` https://api… — connect ECONNREFUSED · 12 ms · since <date> · team=core". */
function compactLine(line: TargetLine): string {
  const parts = [`${emoji(line.state)} *${line.target}* \`${line.targetType}\` ${escapeMrkdwn(line.address)}`];
  const detail = line.state === 'UP'
    ? (line.downForMs === undefined ? 'UP' : `UP after ${humanDuration(line.downForMs)}`)
    : escapeMrkdwn(line.error ?? line.reason);
  const facts = [detail];
  if (line.latencyMs !== undefined && line.state !== 'UP') facts.push(humanLatency(line.latencyMs));
  facts.push(`${line.state === 'UP' ? 'recovered' : 'since'} ${slackDate(line.since)}`);
  if (line.suppressedBy !== undefined) facts.push(`depends on *${line.suppressedBy}*`);
  if (line.dependents !== undefined) facts.push(`+${line.dependents.length} dependents`);
  const labels = labelText(line.labels);
  if (labels !== '') facts.push(labels);
  return `${parts[0]!} — ${facts.join(' · ')}`;
}

/** "…and 480 more (475 DOWN, 5 UP): db-1, db-2, …". */
/**
 * Every target not shown in detail, by name, over as many sections as the block budget allows:
 * a storm message must name everyone it covers, not just the first few.
 */
function moreSections(rest: TargetLine[], maxSections: number): SlackBlock[] {
  const texts = [`…and ${rest.length} more (${stateCounts(rest).join(', ')}): `];
  for (const [index, line] of rest.entries()) {
    const name = escapeMrkdwn(line.target);
    const current = texts[texts.length - 1]!;
    const piece = current.endsWith(': ') || current === '' ? name : `, ${name}`;
    if (current.length + piece.length <= BLOCK_LIMITS.sectionText) texts[texts.length - 1] = current + piece;
    else if (texts.length < maxSections) texts.push(name);
    else {
      // Out of blocks: say how many are left unnamed rather than cutting a name in half.
      const left = ` …and ${rest.length - index} more`;
      texts[texts.length - 1] = `${current.slice(0, BLOCK_LIMITS.sectionText - left.length)}${left}`;
      break;
    }
  }
  return texts.map((text) => section(text));
}

/** A section of mrkdwn (already escaped), with room kept for the mention. */
function section(text: string, mention?: string): SlackBlock {
  const room = BLOCK_LIMITS.sectionText - (mention === undefined ? 0 : mention.length + 1);
  const body = truncateEscaped(text, room);
  const full = mention === undefined ? body : body === '' ? mention : `${body}\n${mention}`;
  return { type: 'section', text: { type: 'mrkdwn', text: full === '' ? '—' : full } };
}

function header(text: string): SlackBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, BLOCK_LIMITS.headerText), emoji: true } };
}

function mrkdwn(text: string, max: number): Mrkdwn {
  return { type: 'mrkdwn', text: truncateEscaped(text, max) };
}

/** The same note the Acknowledge button puts in place of its buttons, so a re-render keeps it. */
function pushAcknowledged(blocks: SlackBlock[], line: TargetLine): void {
  if (line.acknowledged === undefined || blocks.length >= BLOCK_LIMITS.blocks - 1) return;
  blocks.push(acknowledgedNote(line.acknowledged));
}

export function acknowledgedNote(note: string): SlackBlock {
  return { type: 'context', elements: [mrkdwn(note, BLOCK_LIMITS.fieldText)] };
}

function pushActions(blocks: SlackBlock[], buttons: SlackButton[] | undefined): void {
  if (!buttons || buttons.length === 0 || blocks.length >= BLOCK_LIMITS.blocks - 1) return;
  blocks.push({ type: 'actions', elements: buttons.slice(0, BLOCK_LIMITS.actionsElements).map(fitButton) });
}

function fitButton(button: SlackButton): SlackButton {
  const fitted: SlackButton = { ...button, text: { ...button.text, text: truncate(button.text.text, BLOCK_LIMITS.buttonText) }, action_id: button.action_id.slice(0, BLOCK_LIMITS.actionId) };
  if (button.value !== undefined) fitted.value = button.value.slice(0, BLOCK_LIMITS.buttonValue);
  return fitted;
}

function pushContext(blocks: SlackBlock[], message: AlertMessage, line: TargetLine | undefined): void {
  const notes: string[] = [];
  if (message.kind === 'test') notes.push(TEST_NOTE);
  if (line?.incidentId !== undefined) notes.push(`probebot · incident \`${escapeMrkdwn(line.incidentId)}\``);
  else notes.push('probebot');
  if (blocks.length < BLOCK_LIMITS.blocks) blocks.push({ type: 'context', elements: notes.map((note) => mrkdwn(note, BLOCK_LIMITS.fieldText)) });
}

function mentionFor(message: AlertMessage): string | undefined {
  const down = message.lines.some((line) => line.state === 'DOWN');
  return down && message.mention !== undefined && message.mention !== '' ? truncate(message.mention, 200) : undefined;
}

function prefix(message: AlertMessage): string {
  return message.kind === 'test' ? '[TEST] ' : message.kind === 'reminder' ? 'Reminder: ' : '';
}

function stateWords(line: TargetLine, kind: AlertMessage['kind']): string {
  if (line.state === 'UP') return line.downForMs === undefined ? 'UP' : `UP after ${humanDuration(line.downForMs)}`;
  return kind === 'reminder' ? `still ${line.state}` : line.state;
}

function emoji(state: ShownState): string {
  return state === 'DOWN' ? '🔴' : state === 'FLAPPING' ? '🟠' : '✅';
}

function worstState(lines: TargetLine[]): ShownState {
  if (lines.some((l) => l.state === 'DOWN')) return 'DOWN';
  return lines.some((l) => l.state === 'FLAPPING') ? 'FLAPPING' : 'UP';
}

/** "12 targets DOWN", "9 targets DOWN, 3 UP", "12 targets UP". */
function groupCounts(lines: TargetLine[]): string {
  const [first, ...rest] = stateCounts(lines);
  if (first === undefined) return '0 targets';
  return [`${first.replace(/^(\d+) /, (_m, n: string) => `${n} ${n === '1' ? 'target' : 'targets'} `)}`, ...rest].join(', ');
}

function stateCounts(lines: TargetLine[]): string[] {
  const order: ShownState[] = ['DOWN', 'FLAPPING', 'UP'];
  return order.map((state) => [state, lines.filter((l) => l.state === state).length] as const).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([key, value]) => `\`${escapeMrkdwn(`${key}=${value}`)}\``).join(' ');
}

/** Slack shows this in each reader's own time zone; the ISO text is the fallback. */
export function slackDate(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;
}

/** Slack's mrkdwn needs only &, < and > escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Truncates escaped mrkdwn without leaving half an entity (`&am…`) at the cut. */
function truncateEscaped(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = truncate(text, max);
  return cut.replace(/&[a-z]{0,4}…$/, '…');
}

/** Joins lines up to `max` characters, ending with "…and N more" when some do not fit. */
function fitLines(lines: string[], max: number): string {
  const out: string[] = [];
  let used = 0;
  for (const [index, line] of lines.entries()) {
    const tail = index < lines.length - 1 ? 30 : 0;
    if (used + line.length + 1 + tail > max) {
      if (out.length === 0) out.push(truncate(line, max - 30));
      const left = lines.length - out.length;
      if (left > 0) out.push(`…and ${left} more`);
      break;
    }
    out.push(line);
    used += line.length + 1;
  }
  return out.join('\n');
}
