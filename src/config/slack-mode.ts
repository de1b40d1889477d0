import type { SlackConfig } from './schema.js';

/**
 * Which Slack app the `slack:` section asks for: Socket Mode with an app token, HTTP with a
 * signing secret, or none (the bot only posts). Kept apart from slack/app.ts so deciding this
 * does not load @slack/bolt.
 */
export function slackAppMode(config: SlackConfig): 'http' | 'socket' | undefined {
  if (config.appToken !== undefined && config.appToken !== '') return 'socket';
  if (config.signingSecret !== undefined && config.signingSecret !== '') return 'http';
  return undefined;
}
