/**
 * What a slash command does: access first, then the parsed action against the bot, answered
 * with one message. No Bolt here: app.ts acks, calls this, and sends the answer.
 */
import { labelsMatch } from '../alerts/routing.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { AccessDecision, Requester } from './access.js';
import type { AdhocGuard } from './adhoc-guard.js';
import { parseCommand, type SlackCommand } from './commands.js';
import type { SlackBotPort, SlackUser } from './port.js';
import type { ProbeRunner } from './probe-runner.js';
import { helpAnswer, probeAnswer, refusalAnswer, silenceAddedAnswer, silencesAnswer, unsilencedAnswer, type SlackAnswer } from './responses.js';
import { statusAnswer } from './status-page.js';

export interface SlackServices {
  port: SlackBotPort;
  /** The slash command's name, "/probe", for help and hints. */
  command: string;
  clock: Clock;
  logger: Logger;
  adhoc: AdhocGuard;
  probes: ProbeRunner;
  access(requester: Requester): Promise<AccessDecision>;
}

export interface SlashRequest {
  text: string;
  user: SlackUser;
  channelId: string | undefined;
}

export async function handleCommand(request: SlashRequest, services: SlackServices, signal: AbortSignal): Promise<SlackAnswer> {
  const access = await services.access({ userId: request.user.id, channelId: request.channelId });
  if (!access.allowed) return refusalAnswer(access.reason);
  return runCommand(parseCommand(request.text), request.user, services, signal);
}

async function runCommand(command: SlackCommand, user: SlackUser, services: SlackServices, signal: AbortSignal): Promise<SlackAnswer> {
  const { port, clock } = services;
  switch (command.kind) {
    case 'help':
      return helpAnswer(services.command, services.adhoc.enabled ? services.adhoc.describe() : undefined, command.problem);
    case 'probe': {
      const outcomes = await services.probes.probeInputs(command.inputs, signal);
      const anyProbed = outcomes.some((outcome) => outcome.kind !== 'refused');
      // An answer that is only refusals stays with the person who asked.
      return probeAnswer(outcomes, { public: command.public && anyProbed, requestedBy: user });
    }
    case 'status': {
      const entries = port.targets()
        .filter((target) => labelsMatch(command.labels, target.labels))
        .map((target) => ({ target, status: port.statusOf(target.name) }));
      return statusAnswer(entries, { labels: command.labels, page: command.page, command: services.command, public: command.public });
    }
    case 'silences':
      return silencesAnswer(port.silences.list(clock.now()), clock.now(), command.public);
    case 'silence':
      return addSilence(command, user, services);
    case 'unsilence': {
      // Silence IDs and target names are both lower case.
      const removed = port.silences.remove(command.idOrTarget.toLowerCase());
      if (removed.length > 0) services.logger.info({ silences: removed.map((silence) => silence.id), by: authorOf(user) }, 'silence removed from Slack');
      return unsilencedAnswer(removed, command.idOrTarget);
    }
  }
}

function addSilence(command: Extract<SlackCommand, { kind: 'silence' }>, user: SlackUser, services: SlackServices): SlackAnswer {
  const { port, clock } = services;
  const targets = port.targets();
  const { target, labels } = command.matcher;
  if (target !== undefined && !targets.some((candidate) => candidate.name === target)) {
    return refusalAnswer(`There is no target named \`${target}\`; \`${services.command} status\` lists them.`);
  }
  const now = clock.now();
  try {
    const silence = port.silences.add({ matcher: command.matcher, until: now + command.durationMs, reason: command.reason, author: authorOf(user) });
    const matching = labels === undefined ? 1 : targets.filter((candidate) => labelsMatch(labels, candidate.labels)).length;
    return silenceAddedAnswer(silence, now, services.command, matching);
  } catch (error) {
    return refusalAnswer(`Could not add the silence: ${(error as Error).message}.`);
  }
}

/** How a silence records who made it: the name to read, the ID that does not change. */
export function authorOf(user: SlackUser): string {
  return `${user.name} (${user.id})`;
}
