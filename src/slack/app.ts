/**
 * The Slack app: Bolt wiring only. HTTP mode mounts Bolt's receiver on the bot's own HTTP
 * server at /slack/events behind our signature check; Socket Mode (when `slack.appToken` is set)
 * connects in the background. Every listener acks at once and hands the work to handlers.ts /
 * buttons.ts; nothing here waits for Slack at startup (no auth.test: the token is handed to
 * Bolt through `authorize`, so a bad token shows at the first API call, in one log line).
 */
import { App, HTTPReceiver, SocketModeReceiver, type BlockAction, type ButtonAction, type RespondArguments, type RespondFn } from '@slack/bolt';
import { WebClient, type ChatUpdateArguments, type FetchFunction, type WebClientOptions } from '@slack/web-api';
import { slackErrorOutcome } from '../alerts/notifiers/slack-errors.js';
import { slackAppMode } from '../config/slack-mode.js';
import { systemClock, type Clock } from '../clock.js';
import type { SlackConfig } from '../config/schema.js';
import type { HttpServer } from '../http/server.js';
import type { Logger } from '../log.js';
import { allowListProblems, decideAccess, groupsToCheck, type AllowLists } from './access.js';
import { AdhocGuard, type ResolveHost } from './adhoc-guard.js';
import type { RenderOptions } from './blocks.js';
import { boltLogger } from './bolt-logger.js';
import { ACTION_ID_PATTERN, alertButtons, handleButton, type ButtonPress } from './buttons.js';
import { slackEventsRoute } from './events-route.js';
import { handleCommand, type SlackServices } from './handlers.js';
import type { SlackBotPort } from './port.js';
import { ProbeRunner } from './probe-runner.js';
import type { SlackAnswer } from './responses.js';
import { SocketConnection } from './socket-connection.js';
import { UserGroupCache } from './user-groups.js';
import { WorkInFlight } from './work-in-flight.js';

export const SLACK_EVENTS_PATH = '/slack/events';
const SLACK_CALL_TIMEOUT_MS = 10_000;

export interface SlackAppOptions {
  config: SlackConfig;
  port: SlackBotPort;
  /** The bot's HTTP server: HTTP mode adds the /slack/events route to it. */
  server: HttpServer;
  logger: Logger;
  clock?: Clock;
  /** Name resolution for ad-hoc probes; dns.lookup (all addresses) when unset. */
  resolveHost?: ResolveHost;
  /** On-demand probes in flight at once, for all Slack users together; default 8. */
  maxConcurrentProbes?: number;
  /** Socket Mode: first and longest wait between connection attempts; default 1 s and 5 min. */
  reconnectDelayMs?: { first: number; max: number };
}

export interface SlackApp {
  readonly mode: 'http' | 'socket';
  /** The buttons for alert messages: pass as NotifierDeps.slackActions. */
  readonly renderOptions: RenderOptions;
  /** Stops taking requests, aborts work in flight, closes the Socket Mode connection. */
  stop(): Promise<void>;
}

/** Socket Mode with an app token, HTTP with a signing secret, neither: no app (alerts only). */
export { slackAppMode } from '../config/slack-mode.js';

/** Starts the app; throws (one line) only for config it cannot run with, never for Slack being away. */
export async function startSlackApp(options: SlackAppOptions): Promise<SlackApp> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const mode = slackAppMode(config);
  if (mode === undefined) throw new Error('slack: set signingSecret (HTTP mode, events at /slack/events) or appToken (Socket Mode) to use the Slack app');
  const { guard, problems } = AdhocGuard.create({ ...config.adhoc, ...(options.resolveHost ? { resolve: options.resolveHost } : {}) });
  if (problems.length > 0) throw new Error(problems.join('; '));
  for (const problem of allowListProblems(config.allow)) logger.warn(problem);

  const work = new WorkInFlight(logger);
  const reporter = new SlackApiReporter(logger);
  const clientOptions = webClientOptions(config, work.signal, boltLogger(logger, 'slack-web-api'));
  const web = new WebClient(config.botToken, clientOptions);
  const userGroups = new UserGroupCache({
    clock,
    logger,
    list: async (usergroup) => {
      try {
        return (await web.usergroups.users.list({ usergroup })).users ?? [];
      } catch (error) {
        throw new Error(reporter.report(error, 'usergroups.users.list'));
      }
    },
  });
  const services: SlackServices = {
    port: options.port,
    command: config.command,
    clock,
    logger,
    adhoc: guard,
    probes: new ProbeRunner(options.port, guard, options.maxConcurrentProbes ?? 8),
    access: async (requester) => decideAccess(config.allow, requester, await userGroups.members(groupsToCheck(config.allow, requester)), config.command),
  };

  const log = boltLogger(logger);
  const authorize = async () => ({ botToken: config.botToken });
  // No message events are listened to, so Bolt's self-filter and conversation store have nothing to do.
  const common = { authorize, logger: log, clientOptions, ignoreSelf: false, convoStore: false as const };
  let app: App;
  let connection: SocketConnection | undefined;
  if (mode === 'socket') {
    const receiver = new SocketModeReceiver({ appToken: config.appToken!, logger: log, autoReconnectEnabled: false, installerOptions: { clientOptions: { ...clientOptions } } });
    app = new App({ ...common, receiver, socketMode: true });
    connection = new SocketConnection({ receiver, clock, logger, ...(options.reconnectDelayMs ? { retryDelayMs: options.reconnectDelayMs } : {}) });
  } else {
    // The signature is checked by slackEventsRoute, ±5 minutes, before Bolt sees the request.
    const receiver = new HTTPReceiver({ signingSecret: config.signingSecret!, endpoints: SLACK_EVENTS_PATH, logger: log, signatureVerification: false });
    app = new App({ ...common, receiver });
    options.server.route(SLACK_EVENTS_PATH, slackEventsRoute({ signingSecret: config.signingSecret!, clock, logger, next: receiver.requestListener }));
  }
  registerListeners(app, config, services, work, reporter, web);
  connection?.start();
  logger.info({ mode, command: config.command, adhoc: guard.enabled ? guard.describe() : 'off' }, mode === 'http' ? `Slack app listening at ${SLACK_EVENTS_PATH}` : 'Slack app connecting in Socket Mode');

  let stopping: Promise<void> | undefined;
  return {
    mode,
    renderOptions: alertButtons(),
    stop: () => {
      stopping ??= (async () => {
        await connection?.stop();
        await work.stop();
      })();
      return stopping;
    },
  };
}

function registerListeners(app: App, config: SlackConfig, services: SlackServices, work: WorkInFlight, reporter: SlackApiReporter, web: WebClient): void {
  const { logger } = services;
  app.command(config.command, async ({ command, ack, respond }) => {
    await ack();
    work.start(async (signal) => {
      const answer = await handleCommand({ text: command.text, user: { id: command.user_id, name: command.user_name }, channelId: command.channel_id }, services, signal);
      if (!signal.aborted) await send(respond, answer, logger);
    });
  });
  app.action<BlockAction<ButtonAction>>(ACTION_ID_PATTERN, async ({ body, action, ack, respond }) => {
    await ack();
    const press = buttonPress(body, action);
    work.start((signal) =>
      handleButton(press, services, {
        // Never replace the alert message with an answer meant for one person.
        respond: (answer) => (signal.aborted ? Promise.resolve() : send(respond, { ...answer, replace_original: false }, logger)),
        updateMessage: async (channel, ts, text, blocks) => {
          try {
            await web.chat.update({ channel, ts, text, blocks } as unknown as ChatUpdateArguments);
          } catch (error) {
            throw new Error(reporter.report(error, 'chat.update'));
          }
        },
      }, signal),
    );
  });
  app.error(async (error) => {
    logger.error({ error: error.message }, 'Slack app error');
  });
}

function buttonPress(body: BlockAction<ButtonAction>, action: ButtonAction): ButtonPress {
  const message = body.message as { ts?: string; text?: string; blocks?: unknown[] } | undefined;
  return {
    actionId: action.action_id,
    value: action.value,
    user: { id: body.user.id, name: body.user.username ?? body.user.name ?? body.user.id },
    channelId: body.channel?.id ?? body.container?.channel_id,
    message: message?.ts === undefined ? undefined : { ts: message.ts, text: message.text ?? '', blocks: message.blocks ?? [] },
  };
}

/** Posts to response_url; a failure (expired URL, Slack away) is logged, not thrown. */
async function send(respond: RespondFn, answer: SlackAnswer, logger: Logger): Promise<void> {
  try {
    await respond(answer as unknown as RespondArguments);
  } catch (error) {
    logger.warn({ error: (error as Error).message }, 'could not answer on Slack response_url');
  }
}

/**
 * Web API options for every client the app makes: our API URL, no retries of its own (a person
 * is waiting), a deadline per call, and calls cut short when the app stops.
 */
function webClientOptions(config: SlackConfig, stopped: AbortSignal, logger: WebClientOptions['logger']): WebClientOptions {
  const fetchWithDeadline: FetchFunction = (url, init) => {
    const deadline = AbortSignal.any([stopped, AbortSignal.timeout(SLACK_CALL_TIMEOUT_MS), ...(init?.signal ? [init.signal] : [])]);
    return globalThis.fetch(url, { ...init, signal: deadline });
  };
  const options: WebClientOptions = { slackApiUrl: config.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: SLACK_CALL_TIMEOUT_MS, fetch: fetchWithDeadline };
  if (logger !== undefined) options.logger = logger;
  return options;
}

/** One error line per streak of the same Slack API problem; the text for the person waiting. */
class SlackApiReporter {
  private last: string | undefined;

  constructor(private readonly logger: Logger) {}

  report(error: unknown, method: string): string {
    const outcome = slackErrorOutcome(error, 'the channel', new AbortController().signal);
    const code = outcome.status === 'failed' ? outcome.code : outcome.error;
    let text = outcome.error;
    if (code === 'missing_scope' && method.startsWith('usergroups.')) text = 'missing_scope: the Slack app lacks the usergroups:read scope that slack.allow.userGroups needs: add it and reinstall the app';
    if (this.last !== `${method}:${code}`) this.logger.error({ method, code }, `Slack ${method} failed: ${text}`);
    this.last = `${method}:${code}`;
    return text;
  }
}

export type { SlackBotPort };
