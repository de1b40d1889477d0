/**
 * Everything that happens to one notifier's alerts: storm grouping into alerts, then delivery one
 * at a time in order (so a target's recovery never overtakes its DOWN), with retries, Retry-After,
 * a rate limit, a deadline per attempt and giving up. Each notifier has its own queue, so a slow
 * or rate-limited one holds up nobody else.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import type { NotifierType } from '../config/schema.js';
import type { Logger } from '../log.js';
import { deadlineReason } from '../probes/types.js';
import { errorMessage } from '../atomic-file.js';
import { NOTIFIER_RATE_LIMITS, retryDelay, TokenBucket } from './backoff.js';
import { foldDependents, shouldSendNow, splitIntoAlerts } from './grouping.js';
import type { Alert, AlertEvent, DeliveryOutcome, Notifier } from './notifier.js';
import type { AlertRecord, CollectRecord, Outbox } from './outbox.js';

/** How long one delivery attempt may take before it is abandoned and retried. */
export const DELIVERY_DEADLINE_MS = 30_000;
/** A give-up or refusal log line names at most this many targets. */
const TARGETS_LOGGED = 20;

export interface QueueSettings {
  groupWait: number;
  giveUpAfter: number;
  maxBackoff: number;
  /** From the config, for a notifier that is gone. */
  type?: NotifierType;
}

export interface DeliveryCounters {
  sent: Record<string, number>;
  failed: Record<string, number>;
  retries: number;
  givenUp: number;
}

export interface QueueContext {
  clock: Clock;
  logger: Logger;
  outbox: Outbox;
  /** Makes notifier memos durable; called before an alert leaves the outbox. */
  flushMemos(): Promise<void>;
  random(): number;
  counters: DeliveryCounters;
  /** Registers background disk work, so the engine can wait for it. */
  track(work: Promise<unknown>): void;
}

interface QueuedAlert {
  alert: Alert;
  /** On disk (or could not be written: delivering from memory beats losing it). */
  ready: boolean;
  attempts: number;
  lastError?: string;
}

export class NotifierQueue {
  private notifier: Notifier | undefined;
  private settings: QueueSettings;
  private readonly queue: QueuedAlert[] = [];
  private collected: CollectRecord[] = [];
  private windowEndsAt = 0;
  private windowTimer: TimerHandle | undefined;
  private waitTimer: TimerHandle | undefined;
  private attempt: { cancel(): void; settled: Promise<void> } | undefined;
  private bucket: TokenBucket | undefined;
  private running = false;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly context: QueueContext,
    notifier: Notifier | undefined,
    settings: QueueSettings,
  ) {
    this.settings = settings;
    this.configure(notifier, settings);
  }

  /** Whether events are grouped into one alert; a notifier that is gone keeps grouping what it gets. */
  get groupsEvents(): boolean {
    return this.notifier?.groupsEvents ?? true;
  }

  /** A pager: told only of DOWNs that stand on their own, paced by a rate limit. */
  get pages(): boolean {
    return (this.notifier?.type ?? this.settings.type) === 'pagerduty';
  }

  /** Swaps in a new notifier instance and settings (hot reload); undefined parks the queue. */
  configure(notifier: Notifier | undefined, settings: QueueSettings): void {
    // Alerts kept while the notifier was gone each get a fresh try before any giving up.
    if (this.notifier === undefined && notifier !== undefined) for (const entry of this.queue) entry.attempts = 0;
    this.notifier = notifier;
    this.settings = settings;
    const limit = notifier === undefined ? undefined : NOTIFIER_RATE_LIMITS[notifier.type];
    this.bucket = limit === undefined ? undefined : (this.bucket ?? new TokenBucket(limit, this.context.clock.now()));
    if (notifier === undefined && !this.isEmpty()) {
      const { alerts, events } = this.pending();
      this.context.logger.warn({ notifier: this.name, alerts, events }, 'notifier is no longer configured; its pending alerts stay in the outbox until it is back');
    }
    this.pump();
  }

  /**
   * Takes transition events (grouped per the window) or reminders; resolves once they are on disk.
   * The events of one call go out together.
   */
  offer(events: AlertEvent[], kind: 'transition' | 'reminder'): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const now = this.context.clock.now();
    if (kind === 'reminder' || !this.groupsEvents) {
      const groups = kind === 'reminder' && this.groupsEvents ? splitIntoAlerts(events) : events.map((event) => [event]);
      return Promise.all(groups.map((group) => this.enqueue(group, kind, now))).then(() => {});
    }
    if (shouldSendNow({ endsAt: this.windowEndsAt, collected: this.collected.length }, now)) {
      const sent = Promise.all(splitIntoAlerts(foldDependents(events)).map((group) => this.enqueue(group, 'transition', now)));
      this.openWindow(now);
      return sent.then(() => {});
    }
    const { record, durable } = this.context.outbox.write({ kind: 'collect', id: randomUUID(), notifier: this.name, events });
    this.collected.push(record as CollectRecord);
    this.armWindow();
    return durable;
  }

  /** Puts back what a previous run left in the outbox. */
  restore(alerts: readonly AlertRecord[], collects: readonly CollectRecord[]): void {
    for (const record of alerts) this.queue.push({ alert: record.alert, ready: true, attempts: 0 });
    this.collected.push(...collects);
  }

  start(): void {
    this.running = true;
    this.stopped = false;
    if (this.collected.length > 0) this.closeWindow(); // collected before a restart: their window is long over
    this.pump();
  }

  /**
   * Starts no new attempt and gives the one in flight up to graceMs (wall time) to finish, so a
   * graceful stop does not abort a delivery the receiver already took and send it again later.
   */
  async quiesce(graceMs: number): Promise<void> {
    this.running = false;
    const inFlight = this.attempt?.settled;
    if (inFlight === undefined || graceMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([inFlight, grace]);
    clearTimeout(timer);
  }

  /** Aborts the attempt in flight (its alert stays queued) and clears every timer. */
  stop(): void {
    this.running = false;
    this.stopped = true;
    for (const timer of [this.windowTimer, this.waitTimer]) if (timer !== undefined) this.context.clock.clearTimeout(timer);
    this.windowTimer = this.waitTimer = undefined;
    this.attempt?.cancel();
  }

  isEmpty(): boolean {
    return this.queue.length === 0 && this.collected.length === 0;
  }

  /** Undelivered alerts, events waiting for the window, and when the oldest of them was made. */
  pending(): { alerts: number; events: number; oldestAt: number | undefined } {
    let oldestAt = this.queue[0]?.alert.createdAt;
    let events = 0;
    for (const record of this.collected) {
      events += record.events.length;
      for (const event of record.events) if (oldestAt === undefined || event.at < oldestAt) oldestAt = event.at;
    }
    return { alerts: this.queue.length, events, oldestAt };
  }

  private enqueue(events: AlertEvent[], kind: Alert['kind'], now: number): Promise<void> {
    const alert: Alert = { id: randomUUID(), notifier: this.name, createdAt: now, kind, events };
    const entry: QueuedAlert = { alert, ready: false, attempts: 0 };
    this.queue.push(entry);
    return this.whenWritten([entry], this.context.outbox.write({ kind: 'alert', id: alert.id, alert }).durable);
  }

  private whenWritten(entries: QueuedAlert[], durable: Promise<void>): Promise<void> {
    const written = durable
      .catch((error: unknown) => {
        this.context.logger.error({ notifier: this.name, error: errorMessage(error) }, 'could not write alert to the outbox; delivering it anyway');
      })
      .then(() => {
        for (const entry of entries) entry.ready = true;
        this.pump();
      });
    this.context.track(written);
    return written;
  }

  private openWindow(now: number): void {
    this.windowEndsAt = now + this.settings.groupWait;
    this.armWindow();
  }

  private armWindow(): void {
    if (this.windowTimer !== undefined || this.stopped) return;
    const delay = Math.max(0, this.windowEndsAt - this.context.clock.now());
    this.windowTimer = this.context.clock.setTimeout(() => {
      this.windowTimer = undefined;
      this.closeWindow();
    }, delay);
  }

  /** Turns what the window collected into alerts (written before the collected records go). */
  private closeWindow(): void {
    if (this.collected.length === 0) return; // quiet: the next event goes out at once
    const consumed = this.collected.splice(0);
    const now = this.context.clock.now();
    const events = foldDependents(consumed.flatMap((record) => record.events));
    const entries: QueuedAlert[] = splitIntoAlerts(events).map((group) => ({
      alert: { id: randomUUID(), notifier: this.name, createdAt: now, kind: 'transition', events: group },
      ready: false,
      attempts: 0,
    }));
    this.queue.push(...entries);
    const writes = entries.map((entry) => this.context.outbox.write({ kind: 'alert', id: entry.alert.id, alert: entry.alert }).durable);
    const ids = consumed.map((record) => record.id);
    void this.whenWritten(entries, Promise.all(writes).then(() => this.context.outbox.remove(ids, { durable: true })));
    this.openWindow(now);
  }

  /** Starts the next attempt if the head of the queue may go now. */
  private pump(): void {
    const notifier = this.notifier;
    if (!this.running || this.attempt !== undefined || this.waitTimer !== undefined || notifier === undefined) return;
    for (let guard = 0; guard < 10_000; guard++) {
      const head = this.queue[0];
      if (head === undefined || !head.ready) return;
      const now = this.context.clock.now();
      if (head.attempts > 0 && now - head.alert.createdAt >= this.settings.giveUpAfter) {
        this.giveUp(head);
        continue;
      }
      const wait = this.bucket?.take(now) ?? 0;
      if (wait > 0) return this.waitFor(wait);
      return this.send(head, notifier);
    }
  }

  private send(head: QueuedAlert, notifier: Notifier): void {
    const { clock } = this.context;
    const controller = new AbortController();
    let settled = false;
    let markSettled!: () => void;
    const settledPromise = new Promise<void>((resolve) => (markSettled = resolve));
    const finish = (outcome: DeliveryOutcome | 'stopped') => {
      if (settled) return;
      settled = true;
      markSettled();
      clock.clearTimeout(deadline);
      this.attempt = undefined;
      if (outcome !== 'stopped') this.settle(head, outcome);
    };
    const deadline = clock.setTimeout(() => {
      controller.abort(deadlineReason(DELIVERY_DEADLINE_MS));
      finish({ status: 'retry', error: `no answer within ${DELIVERY_DEADLINE_MS}ms` });
    }, DELIVERY_DEADLINE_MS);
    this.attempt = {
      settled: settledPromise,
      cancel: () => {
        controller.abort(new DOMException('probebot is stopping', 'AbortError'));
        finish('stopped');
      },
    };
    // Not tracked as background work: a notifier that ignores its signal must not hold up a stop.
    void Promise.resolve()
      .then(() => notifier.deliver(head.alert, controller.signal))
      .then(finish, (error: unknown) => finish({ status: 'retry', error: errorMessage(error) }));
  }

  private settle(head: QueuedAlert, outcome: DeliveryOutcome): void {
    const { counters, logger } = this.context;
    switch (outcome.status) {
      case 'delivered': {
        counters.sent[this.name] = (counters.sent[this.name] ?? 0) + 1;
        this.finishHead(head);
        break;
      }
      case 'retry': {
        head.attempts++;
        head.lastError = outcome.error;
        counters.retries++;
        const fields = { notifier: this.name, targets: targetsOf(head.alert), attempts: head.attempts, error: outcome.error };
        if (head.attempts === 1) logger.warn(fields, 'delivery failed; will retry');
        else logger.debug(fields, 'delivery failed again; will retry');
        if (this.context.clock.now() - head.alert.createdAt >= this.settings.giveUpAfter) {
          this.giveUp(head);
          break;
        }
        const options = { maxBackoffMs: this.settings.maxBackoff, random: this.context.random };
        this.waitFor(retryDelay(head.attempts, outcome.retryAfterMs === undefined ? options : { ...options, retryAfterMs: outcome.retryAfterMs }));
        return;
      }
      case 'failed': {
        logger.error({ notifier: this.name, targets: targetsOf(head.alert), error: outcome.error }, 'notifier refused the alert; it will not be retried');
        counters.failed[this.name] = (counters.failed[this.name] ?? 0) + 1;
        this.finishHead(head);
        break;
      }
    }
    this.pump();
  }

  private giveUp(head: QueuedAlert): void {
    const { counters, logger, clock } = this.context;
    logger.error(
      { notifier: this.name, targets: targetsOf(head.alert), attempts: head.attempts, ageMs: clock.now() - head.alert.createdAt, error: head.lastError },
      'gave up delivering an alert',
    );
    counters.givenUp++;
    counters.failed[this.name] = (counters.failed[this.name] ?? 0) + 1;
    this.finishHead(head);
  }

  /** Takes the head off the queue; its file goes once the notifier's memos are on disk. */
  private finishHead(head: QueuedAlert): void {
    if (this.queue[0] === head) this.queue.shift();
    const { outbox, logger } = this.context;
    const removal = this.context
      .flushMemos()
      .catch((error: unknown) => logger.error({ notifier: this.name, error: errorMessage(error) }, 'could not save memos'))
      .then(() => outbox.remove([head.alert.id]));
    this.context.track(removal);
  }

  private waitFor(ms: number): void {
    if (this.stopped) return;
    this.waitTimer = this.context.clock.setTimeout(() => {
      this.waitTimer = undefined;
      this.pump();
    }, ms);
  }
}

/** "api, db and 3 more" as a list for a log line. */
function targetsOf(alert: Alert): string[] {
  const names = [...new Set(alert.events.map((event) => event.target))];
  return names.length <= TARGETS_LOGGED ? names : [...names.slice(0, TARGETS_LOGGED), `… and ${names.length - TARGETS_LOGGED} more`];
}
