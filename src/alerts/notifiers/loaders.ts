/**
 * The notifier registry: one loader per notifier type; adding a type adds a file and a line
 * here (and one in index.ts). A loader imports its notifier's module only when called, so the
 * bot loads the HTTP client (webhook, PagerDuty) or the Slack client only for a config that
 * uses them: each costs tens to hundreds of milliseconds at startup.
 */
import type { Clock } from '../../clock.js';
import type { NotifierConfig, NotifierType, SlackConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { RenderOptions } from '../../slack/blocks.js';
import type { MemoStore, Notifier } from '../notifier.js';

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

type Loaders = { [K in NotifierType]: () => Promise<NotifierFactory<Extract<NotifierConfig, { type: K }>>> };

export const notifierLoaders = {
  log: async () => {
    const { createLogNotifier } = await import('./log.js');
    return (name, _config, deps) => createLogNotifier(name, deps.logger);
  },
  slack: async () => {
    const { createSlackNotifier } = await import('./slack.js');
    return (name, config, deps) =>
      createSlackNotifier(name, config, { logger: deps.logger, memos: deps.memos, slack: deps.slack, ...(deps.slackActions ? { render: deps.slackActions } : {}) });
  },
  pagerduty: async () => {
    const { createPagerDutyNotifier } = await import('./pagerduty.js');
    return (name, config) => createPagerDutyNotifier(name, config);
  },
  webhook: async () => {
    const { createWebhookNotifier } = await import('./webhook.js');
    return (name, config, deps) => createWebhookNotifier(name, config, deps.clock);
  },
} satisfies Loaders;

/** Loads the factories of these notifier types; the function it gives creates notifiers of those types only. */
export async function loadNotifierFactories(types: Iterable<NotifierType>): Promise<NotifierFactory> {
  const factories = new Map<NotifierType, NotifierFactory>();
  await Promise.all(
    [...new Set(types)].map(async (type) => {
      factories.set(type, (await (notifierLoaders[type] as () => Promise<NotifierFactory>)()));
    }),
  );
  return (name, config, deps) => {
    const factory = factories.get(config.type);
    if (!factory) throw new Error(`notifier type "${config.type}" was not loaded`);
    return factory(name, config, deps);
  };
}
