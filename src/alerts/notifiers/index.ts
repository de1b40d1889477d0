/**
 * Every notifier type, ready to create synchronously (tests, one-off commands). The bot uses
 * loadNotifierFactories instead, which imports only the types its config has.
 */
import type { NotifierConfig, NotifierType } from '../../config/schema.js';
import type { Notifier } from '../notifier.js';
import { notifierLoaders, type NotifierDeps, type NotifierFactory } from './loaders.js';

export { loadNotifierFactories, type NotifierDeps, type NotifierFactory } from './loaders.js';

const [log, slack, pagerduty, webhook] = await Promise.all([
  notifierLoaders.log(),
  notifierLoaders.slack(),
  notifierLoaders.pagerduty(),
  notifierLoaders.webhook(),
]);

export const notifierFactories = { log, slack, pagerduty, webhook } satisfies {
  [K in NotifierType]: NotifierFactory<Extract<NotifierConfig, { type: K }>>;
};

export function createNotifier(name: string, config: NotifierConfig, deps: NotifierDeps): Notifier {
  const factory = notifierFactories[config.type] as NotifierFactory;
  return factory(name, config, deps);
}
