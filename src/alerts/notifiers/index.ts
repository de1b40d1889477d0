/** The notifier registry: one factory per notifier type; adding a type adds a file and a line here. */
import type { Clock } from '../../clock.js';
import type { NotifierConfig, NotifierType, SlackConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { RenderOptions } from '../../slack/blocks.js';
import type { MemoStore, Notifier } from '../notifier.js';
import { createLogNotifier } from './log.js';
import { createPagerDutyNotifier } from './pagerduty.js';
import { createSlackNotifier } from './slack.js';
import { createWebhookNotifier } from './webhook.js';

export interface NotifierDeps {
  logger: Logger;
  memos: MemoStore;
  /** The top-level `slack:` section (bot token, API URL). */
  slack?: SlackConfig;
  clock?: Clock;
  /** Buttons the Slack app adds to alert messages. */
  slackActions?: RenderOptions;
}

export type NotifierFactory<C extends NotifierConfig = NotifierConfig> = (name: string, config: C, deps: NotifierDeps) => Notifier;

export const notifierFactories = {
  log: (name, _config, deps) => createLogNotifier(name, deps.logger),
  slack: (name, config, deps) =>
    createSlackNotifier(name, config, { logger: deps.logger, memos: deps.memos, slack: deps.slack, ...(deps.slackActions ? { render: deps.slackActions } : {}) }),
  pagerduty: (name, config) => createPagerDutyNotifier(name, config),
  webhook: (name, config, deps) => createWebhookNotifier(name, config, deps.clock),
} satisfies { [K in NotifierType]: NotifierFactory<Extract<NotifierConfig, { type: K }>> };

export function createNotifier(name: string, config: NotifierConfig, deps: NotifierDeps): Notifier {
  const factory = notifierFactories[config.type] as NotifierFactory;
  return factory(name, config, deps);
}
