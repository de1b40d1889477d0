/**
 * The buttons on DOWN alert messages (Acknowledge, Silence 1h, Probe now) and what pressing
 * them does. The buttons carry the target and incident in their value; the same allow lists as
 * the slash command decide who may press them.
 */
import { humanDuration } from '../alerts/summary.js';
import { acknowledgedNote, BLOCK_LIMITS, escapeMrkdwn, slackDate, type RenderOptions, type SlackButton, type TargetLine } from './blocks.js';
import { authorOf, type SlackServices } from './handlers.js';
import type { AcknowledgeOutcome, SlackUser } from './port.js';
import { probeAnswer, refusalAnswer, silenceAddedAnswer, stateText, type SlackAnswer } from './responses.js';

export const ACTION_IDS = {
  acknowledge: 'probebot_acknowledge',
  silence: 'probebot_silence_1h',
  probe: 'probebot_probe_now',
} as const;

/** Matches every action_id above, for registering one listener. */
export const ACTION_ID_PATTERN = /^probebot_(acknowledge|silence_1h|probe_now)$/;

const SILENCE_MS = 3_600_000;

export interface ButtonValue {
  target: string;
  incident: string;
}

/** For NotifierDeps.slackActions: the buttons on every DOWN line that has an incident. */
export function alertButtons(): RenderOptions {
  return { targetActions: buttonsFor };
}

function buttonsFor(line: TargetLine): SlackButton[] {
  if (line.state !== 'DOWN' || line.incidentId === undefined) return [];
  const value = JSON.stringify({ target: line.target, incident: line.incidentId } satisfies ButtonValue);
  // A cut value would name the wrong incident: no buttons rather than broken ones.
  if (value.length > BLOCK_LIMITS.buttonValue) return [];
  const button = (text: string, actionId: string, style?: 'primary'): SlackButton =>
    style === undefined ? { type: 'button', text: { type: 'plain_text', text }, action_id: actionId, value } : { type: 'button', text: { type: 'plain_text', text }, action_id: actionId, value, style };
  const rest = [button('Silence 1h', ACTION_IDS.silence), button('Probe now', ACTION_IDS.probe)];
  return line.acknowledged === undefined ? [button('Acknowledge', ACTION_IDS.acknowledge, 'primary'), ...rest] : rest;
}

export function parseButtonValue(text: string | undefined): ButtonValue | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ButtonValue> | null;
    return typeof value?.target === 'string' && typeof value.incident === 'string' ? { target: value.target, incident: value.incident } : undefined;
  } catch {
    return undefined;
  }
}

/** A button press, from a block_actions payload. */
export interface ButtonPress {
  actionId: string;
  value: string | undefined;
  user: SlackUser;
  channelId: string | undefined;
  /** The alert message the button is on. */
  message: { ts: string; text: string; blocks: unknown[] } | undefined;
}

/**
 * How the answer gets out: response_url (never replacing the alert message) and chat.update
 * for the alert message itself.
 */
export interface ButtonEffects {
  respond(answer: SlackAnswer): Promise<void>;
  updateMessage(channel: string, ts: string, text: string, blocks: unknown[]): Promise<void>;
}

export async function handleButton(press: ButtonPress, services: SlackServices, effects: ButtonEffects, signal: AbortSignal): Promise<void> {
  const access = await services.access({ userId: press.user.id, channelId: press.channelId });
  if (!access.allowed) return effects.respond(refusalAnswer(access.reason));
  const value = parseButtonValue(press.value);
  if (value === undefined) return effects.respond(refusalAnswer(`This button carries no target; use \`${services.command} status\` instead.`));
  switch (press.actionId) {
    case ACTION_IDS.acknowledge:
      return acknowledge(press, value, services, effects, signal);
    case ACTION_IDS.silence:
      return silence(press, value, services, effects);
    case ACTION_IDS.probe:
      return probeNow(press, value, services, effects, signal);
    default:
      return effects.respond(refusalAnswer('This button is not one probebot knows.'));
  }
}

async function acknowledge(press: ButtonPress, value: ButtonValue, services: SlackServices, effects: ButtonEffects, signal: AbortSignal): Promise<void> {
  const status = services.port.statusOf(value.target);
  if (status?.incident?.id !== value.incident) {
    return effects.respond(refusalAnswer(`This incident is over; ${value.target} is ${status === undefined ? 'no longer a target' : stateText(status)}. Nothing to acknowledge.`));
  }
  const outcome = await services.port.acknowledge(value.target, value.incident, press.user, signal);
  services.logger.info({ target: value.target, incident: value.incident, by: authorOf(press.user), pagerDuty: outcome.pagerDuty.length }, 'incident acknowledged from Slack');
  const note = `✋ Acknowledged by <@${press.user.id}> at ${slackDate(services.clock.now())}${pagerDutyNote(outcome)}`;
  // Kept with the message's lines, so that a later update of the message (another target of
  // the group recovers) shows it too instead of the Acknowledge button.
  services.port.recordAcknowledgement(value.incident, note);
  const blocks = press.message === undefined ? undefined : acknowledgedBlocks(press.message.blocks, press.value ?? '', note);
  if (blocks === undefined || press.channelId === undefined || press.message === undefined) {
    return effects.respond({ ...refusalAnswer(note), text: 'Acknowledged' });
  }
  try {
    await effects.updateMessage(press.channelId, press.message.ts, press.message.text, blocks);
  } catch (error) {
    await effects.respond(refusalAnswer(`Acknowledged, but the alert message could not be updated: ${(error as Error).message}`));
  }
}

function pagerDutyNote(outcome: AcknowledgeOutcome): string {
  if (outcome.pagerDuty.length === 0) return '';
  const failed = outcome.pagerDuty.filter((entry) => !entry.ok);
  if (failed.length === 0) return ' · PagerDuty acknowledged';
  return ` · PagerDuty acknowledge failed: ${failed.map((entry) => `${entry.notifier}: ${escapeMrkdwn(entry.error ?? 'failed')}`).join('; ')}`;
}

/**
 * The alert message's blocks with the pressed target's buttons replaced by who acknowledged
 * (and its other buttons kept); undefined when the message has no such buttons any more.
 */
export function acknowledgedBlocks(blocks: readonly unknown[], value: string, note: string): unknown[] | undefined {
  const index = blocks.findIndex((block) => actionElements(block).some((element) => element.action_id === ACTION_IDS.acknowledge && element.value === value));
  if (index < 0) return undefined;
  const rest = actionElements(blocks[index]).filter((element) => element.action_id !== ACTION_IDS.acknowledge);
  const noteBlock = acknowledgedNote(note);
  const replacement: unknown[] = rest.length > 0 && blocks.length < BLOCK_LIMITS.blocks ? [noteBlock, { type: 'actions', elements: rest }] : [noteBlock];
  return [...blocks.slice(0, index), ...replacement, ...blocks.slice(index + 1)];
}

function actionElements(block: unknown): Array<{ action_id?: unknown; value?: unknown }> {
  const candidate = block as { type?: unknown; elements?: unknown } | null;
  return candidate?.type === 'actions' && Array.isArray(candidate.elements) ? (candidate.elements as Array<{ action_id?: unknown; value?: unknown }>) : [];
}

async function silence(press: ButtonPress, value: ButtonValue, services: SlackServices, effects: ButtonEffects): Promise<void> {
  const now = services.clock.now();
  const reason = `silenced for ${humanDuration(SILENCE_MS)} from the alert message`;
  try {
    const added = services.port.silences.add({ matcher: { target: value.target }, until: now + SILENCE_MS, reason, author: authorOf(press.user) });
    const answer = silenceAddedAnswer(added, now, services.command, 1);
    // Everyone in the channel should know alerts on this target are held back.
    await effects.respond({ ...answer, response_type: 'in_channel' });
  } catch (error) {
    await effects.respond(refusalAnswer(`Could not silence ${value.target}: ${(error as Error).message}.`));
  }
}

async function probeNow(press: ButtonPress, value: ButtonValue, services: SlackServices, effects: ButtonEffects, signal: AbortSignal): Promise<void> {
  const target = services.port.targets().find((candidate) => candidate.name === value.target);
  if (target === undefined) return effects.respond(refusalAnswer(`${value.target} is no longer a configured target.`));
  const outcome = await services.probes.probeTarget(target, signal);
  await effects.respond(probeAnswer([outcome], { public: false, requestedBy: press.user }));
}
