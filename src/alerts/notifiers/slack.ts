/**
 * The Slack notifier, through @slack/web-api's WebClient with its own retries off: the delivery
 * engine owns retries so they survive restarts.
 *
 * - A DOWN (or a group) is posted as a new message; its channel and ts are kept in the MemoStore
 *   per incident, so the recovery, even after a restart, updates that message to ✅ (marking just
 *   the recovered targets of a group) and replies in its thread.
 * - A dependent that goes down after its dependency's message was posted (`suppressedBy`) is a
 *   reply in that message's thread; dependents in the same alert are folded into their
 *   dependency's line.
 * - A reminder is a thread reply that is also shown in the channel (`reply_broadcast`).
 * - Test alerts are plain messages marked [TEST], with no memos.
 */
import { ErrorCode, WebClient, type FetchFunction, type Logger as SlackLogger, LogLevel } from '@slack/web-api';
import type { NotifierConfig, SlackConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { lineFromEvent, renderAlertMessage, renderReply, type AlertMessage, type RenderOptions, type TargetLine } from '../../slack/blocks.js';
import type { Alert, AlertEvent, DeliveryOutcome, MemoStore, Notifier } from '../notifier.js';
import { isDown, isRecovery } from '../summary.js';
import { slackErrorOutcome } from './slack-errors.js';
import { SlackMemos, type MessageRef } from './slack-memos.js';

export type SlackNotifierConfig = Extract<NotifierConfig, { type: 'slack' }>;

export interface SlackNotifierDeps {
  logger: Logger;
  memos: MemoStore;
  slack: SlackConfig | undefined;
  /** Buttons of the Slack app, added to alert messages. */
  render?: RenderOptions;
}

/** Alerts whose finished steps are remembered between retries, so a retry does not post twice. */
const MAX_REMEMBERED_ALERTS = 1000;
const STATE_ORDER = { DOWN: 0, FLAPPING: 1, UP: 2 } as const;

/** What one alert does in Slack: replies in existing threads, updates of old messages, a new message. */
interface Plan {
  updates: Map<string, { ref: MessageRef; events: AlertEvent[] }>;
  replies: Map<string, { ref: MessageRef; events: AlertEvent[]; broadcast: boolean }>;
  fresh: AlertEvent[];
  folded: AlertEvent[];
}

export function createSlackNotifier(name: string, config: SlackNotifierConfig, deps: SlackNotifierDeps): Notifier {
  return new SlackNotifier(name, config, deps);
}

class SlackNotifier implements Notifier {
  readonly type = 'slack';
  readonly groupsEvents = true;
  private readonly memos: SlackMemos;
  private readonly done = new Map<string, Set<string>>();
  /** One alert at a time: recoveries of one grouped message read and rewrite the same memo. */
  private queue: Promise<unknown> = Promise.resolve();
  private failingWith: string | undefined;

  constructor(readonly name: string, private readonly config: SlackNotifierConfig, private readonly deps: SlackNotifierDeps) {
    this.memos = new SlackMemos(deps.memos, name);
  }

  deliver(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome> {
    const run = this.queue.then(() => this.deliverNow(alert, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async deliverNow(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome> {
    if (signal.aborted) return { status: 'retry', error: 'aborted before sending to Slack' };
    const slack = this.deps.slack;
    if (slack === undefined) return this.failed('no_slack_section', 'the config has no slack: section with a botToken: add one to use Slack notifiers');
    const client = createSlackWebClient(slack, signal, this.deps.logger);
    try {
      await this.send(alert, client);
      this.done.delete(alert.id);
      if (this.failingWith !== undefined) this.deps.logger.info({ notifier: this.name }, `Slack notifier ${this.name} delivers again`);
      this.failingWith = undefined;
      return { status: 'delivered' };
    } catch (error) {
      const outcome = slackErrorOutcome(error, this.config.channel, signal);
      if (outcome.status !== 'failed') return outcome;
      this.done.delete(alert.id);
      return this.failed(outcome.code, outcome.error);
    }
  }

  /** Fails the alert; logs once per streak of the same error, not on every alert. */
  private failed(code: string, error: string): DeliveryOutcome {
    if (this.failingWith !== code) this.deps.logger.error({ notifier: this.name, code }, `Slack notifier ${this.name} cannot deliver: ${error}`);
    this.failingWith = code;
    return { status: 'failed', error };
  }

  /**
   * Runs the plan. Incidents are closed in the memos only once every step succeeded, so a retry
   * (even after a restart) plans the same steps; steps already done in this process are skipped.
   */
  private async send(alert: Alert, client: WebClient): Promise<void> {
    const step = this.stepper(alert.id);
    const plan = this.plan(alert);
    const closings: Array<() => void> = [];
    for (const [key, { ref, events }] of plan.updates) {
      const gone = await step(`update:${key}`, () => this.updateMessage(client, ref, events));
      if (gone === 'gone') plan.fresh.push(...events);
      else await step(`reply:${key}`, () => this.reply(client, ref, events, alert.kind, false));
      closings.push(() => this.memos.closeIncidents(ref, events));
    }
    for (const [key, { ref, events, broadcast }] of plan.replies) {
      await step(`thread:${key}`, () => this.reply(client, ref, events, alert.kind, broadcast));
      if (alert.kind === 'transition') closings.push(() => this.memos.recordThreadIncidents(ref, events));
    }
    if (plan.fresh.length > 0) {
      const posted = await step('post', () => this.post(client, alert, plan.fresh));
      if (posted !== undefined && alert.kind !== 'test') this.memos.recordMessage(posted.ref, alert.kind, posted.lines, plan.folded);
    }
    for (const close of closings) close();
  }

  /** Sorts each event to a reply, an update or the new message, from what the memos know. */
  private plan(alert: Alert): Plan {
    const plan: Plan = { updates: new Map(), replies: new Map(), fresh: [], folded: [] };
    const addTo = <T extends { events: AlertEvent[] }>(map: Map<string, T>, ref: MessageRef, event: AlertEvent, make: () => T) => {
      const key = `${ref.channel}:${ref.ts}`;
      const entry = map.get(key) ?? make();
      entry.events.push(event);
      map.set(key, entry);
    };
    const reply = (ref: MessageRef, event: AlertEvent, broadcast: boolean) => addTo(plan.replies, ref, event, () => ({ ref, events: [], broadcast }));
    const downInAlert = new Set(alert.events.filter((e) => isDown(e) && e.suppressedBy === undefined).map((e) => e.target));
    for (const event of alert.events) {
      if (alert.kind === 'test') {
        plan.fresh.push(event);
        continue;
      }
      const incident = event.incidentId === undefined ? undefined : this.memos.incident(event.incidentId);
      if (alert.kind === 'reminder' && incident) reply(incident, event, true);
      else if (isRecovery(event) && incident?.inThread) reply(incident, event, false);
      else if (isRecovery(event) && incident) addTo(plan.updates, incident, event, () => ({ ref: incident, events: [] }));
      else if (isDown(event) && event.suppressedBy !== undefined && downInAlert.has(event.suppressedBy)) plan.folded.push(event);
      else if (isDown(event) && event.suppressedBy !== undefined && this.memos.openMessageOf(event.suppressedBy)) reply(this.memos.openMessageOf(event.suppressedBy)!, event, false);
      else plan.fresh.push(event);
    }
    return plan;
  }

  private async post(client: WebClient, alert: Alert, events: AlertEvent[]): Promise<{ ref: MessageRef; lines: TargetLine[] }> {
    const lines = events.map(lineFromEvent).sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
    const message = renderAlertMessage(this.alertMessage(alert.kind, lines), this.deps.render);
    const answer = await client.chat.postMessage({ channel: this.config.channel, ...message, unfurl_links: false, unfurl_media: false });
    return { ref: { channel: answer.channel ?? this.config.channel, ts: answer.ts ?? '' }, lines };
  }

  /** Marks the recovered lines of a stored message and re-renders it; 'gone' if it was deleted. */
  private async updateMessage(client: WebClient, ref: MessageRef, events: AlertEvent[]): Promise<'updated' | 'gone'> {
    const stored = this.memos.message(ref);
    if (stored === undefined) return 'gone';
    const recoveries = new Map(events.map((event) => [event.target, event]));
    const lines = stored.lines.map((line) => {
      const recovery = recoveries.get(line.target);
      const matches = recovery !== undefined && (line.incidentId === undefined || recovery.incidentId === line.incidentId);
      return matches ? { ...line, ...recoveredLine(lineFromEvent(recovery)) } : line;
    });
    this.memos.saveLines(ref, lines);
    const message = renderAlertMessage(this.alertMessage(stored.kind, lines), this.deps.render);
    try {
      await client.chat.update({ channel: ref.channel, ts: ref.ts, ...message });
      return 'updated';
    } catch (error) {
      if (!isMessageGone(error)) throw error;
      this.memos.forgetMessage(ref, lines);
      return 'gone';
    }
  }

  private async reply(client: WebClient, ref: MessageRef, events: AlertEvent[], kind: Alert['kind'], broadcast: boolean): Promise<void> {
    const reply = renderReply(this.alertMessage(kind, events.map(lineFromEvent)));
    await client.chat.postMessage({ channel: ref.channel, thread_ts: ref.ts, text: reply.text, reply_broadcast: broadcast, unfurl_links: false });
  }

  private alertMessage(kind: Alert['kind'], lines: TargetLine[]): AlertMessage {
    return this.config.mention === undefined ? { kind, lines } : { kind, lines, mention: this.config.mention };
  }

  /** Runs each named step of an alert once, even across retries of that alert. */
  private stepper(alertId: string) {
    let done = this.done.get(alertId);
    if (!done) {
      done = new Set();
      this.done.set(alertId, done);
      if (this.done.size > MAX_REMEMBERED_ALERTS) this.done.delete(this.done.keys().next().value!);
    }
    const finished = done;
    return async <T>(key: string, run: () => Promise<T>): Promise<T | undefined> => {
      if (finished.has(key)) return undefined;
      const result = await run();
      finished.add(key);
      return result;
    };
  }
}

function recoveredLine(recovery: TargetLine): Partial<TargetLine> {
  const update: Partial<TargetLine> = { state: recovery.state, since: recovery.since, reason: recovery.reason };
  if (recovery.downForMs !== undefined) update.downForMs = recovery.downForMs;
  if (recovery.latencyMs !== undefined) update.latencyMs = recovery.latencyMs;
  return update;
}

function isMessageGone(error: unknown): boolean {
  const code = (error as { code?: unknown; data?: { error?: unknown } }).data?.error;
  return (error as { code?: unknown }).code === ErrorCode.PlatformError && (code === 'message_not_found' || code === 'cant_update_message' || code === 'edit_window_closed');
}

/** A client for one delivery: no retries of its own, and every request ends with the signal. */
export function createSlackWebClient(slack: SlackConfig, signal: AbortSignal, logger: Logger): WebClient {
  const fetchWithSignal: FetchFunction = (url, init) =>
    globalThis.fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
  return new WebClient(slack.botToken, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    fetch: fetchWithSignal,
    logger: quietLogger(logger),
  });
}

/** WebClient's own warnings go to debug: we report each outcome ourselves. It redacts tokens. */
function quietLogger(logger: Logger): SlackLogger {
  const debug = (...message: unknown[]) => logger.debug({ component: 'slack-web-api' }, message.map(String).join(' '));
  return { debug: () => undefined, info: () => undefined, warn: debug, error: debug, setLevel: () => undefined, getLevel: () => LogLevel.WARN, setName: () => undefined };
}
