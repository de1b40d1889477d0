import { acknowledgePagerDutyIncident } from '../alerts/notifiers/pagerduty.js';
import { SlackMemos } from '../alerts/notifiers/slack-memos.js';
import type { MemoStore } from '../alerts/notifier.js';
import { notifiersFor } from '../alerts/routing.js';
import type { SilenceApi } from '../alerts/delivery.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { TargetStatus } from '../monitor/types.js';
import type { ProbeRegistry } from '../probes/index.js';
import type { AcknowledgeOutcome, SlackBotPort } from './port.js';

export interface SlackBotPortDeps {
  /** The config in force (it changes on reload). */
  config(): Config;
  statusOf(name: string): TargetStatus | undefined;
  probes: ProbeRegistry;
  silences: SilenceApi;
  /** Where the Slack notifiers keep their messages' lines. */
  memos: MemoStore;
  logger: Logger;
}

/** What the Slack app may do with the bot: read states, probe on demand, silence, acknowledge. */
export function createSlackBotPort(deps: SlackBotPortDeps): SlackBotPort {
  return {
    targets: () => deps.config().targets,
    statusOf: (name) => deps.statusOf(name),
    // On demand: outside the schedule and without touching the target's counters.
    probe: (target, signal) => deps.probes.runWithDeadline(target, signal),
    silences: deps.silences,
    async acknowledge(name, incidentId, by, signal) {
      const config = deps.config();
      const target = config.targets.find((candidate) => candidate.name === name);
      const outcome: AcknowledgeOutcome = { pagerDuty: [] };
      if (!target) return outcome;
      for (const notifier of notifiersFor(target, config.routes)) {
        const settings = config.notifiers[notifier];
        if (settings?.type !== 'pagerduty') continue;
        const sent = await acknowledgePagerDutyIncident(settings, incidentId, signal);
        outcome.pagerDuty.push(sent.status === 'delivered' ? { notifier, ok: true } : { notifier, ok: false, error: sent.error });
      }
      deps.logger.info({ target: name, incident: incidentId, by: `${by.name} (${by.id})` }, 'incident acknowledged');
      return outcome;
    },
    recordAcknowledgement(incidentId, note) {
      for (const [name, settings] of Object.entries(deps.config().notifiers)) {
        if (settings.type === 'slack') new SlackMemos(deps.memos, name).acknowledge(incidentId, note);
      }
    },
  };
}
