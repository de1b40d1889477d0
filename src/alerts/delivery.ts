/**
 * The alert delivery engine: takes the core's transitions (AlertSink), keeps them in a durable
 * outbox, and gets them to every notifier that should hear of them, grouped in storms, folded
 * under their dependencies, held back by silences and maintenance windows, repeated as reminders.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { Config, Target } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AnnouncedState, TargetStatus, TransitionEvent } from '../monitor/types.js';
import { dependentsIndex } from './dependencies.js';
import { Dispatcher } from './dispatch.js';
import { MaintenanceCalendar, windowCovers, type MaintenanceWindow } from './maintenance.js';
import { openMemoStore, type DurableMemoStore } from './memos.js';
import type { AlertEvent, Notifier } from './notifier.js';
import { NotifierQueue, type DeliveryCounters, type QueueSettings } from './notifier-queue.js';
import { Outbox, pendingWork } from './outbox.js';
import { MAX_TIMER_MS, Reminders } from './reminders.js';
import { notifiersFor } from './routing.js';
import { silenceCovers, SilenceStore, type Silence, type SilenceInput } from './silences.js';
import { ToldLedger } from './told.js';
import type { AlertSink } from './types.js';

export interface AlertEngineOptions {
  /** The resolved config: notifiers, delivery, routes, maintenance, targets. */
  config: Config;
  notifiers: ReadonlyMap<string, Notifier>;
  /** outbox/, silences.json and memos.json live here. */
  stateDir: string;
  clock?: Clock;
  logger: Logger;
  /** The state machine's current status of a target (dependencies, silences ending, reminders). */
  statusOf(target: string): TargetStatus | undefined;
  /** Jitter source, [0, 1). */
  random?: () => number;
  /** The memo store the notifiers were given (openMemoStore); opened here when absent. */
  memos?: DurableMemoStore;
}

export interface DeliveryStats {
  /** Undelivered alerts plus events waiting in a group window or a dependency hold. */
  pending: number;
  oldestPendingAgeMs: number;
  /** Alerts delivered, per notifier. */
  sent: Record<string, number>;
  /** Alerts refused or given up, per notifier. */
  failed: Record<string, number>;
  retries: number;
  givenUp: number;
}

export interface SilenceApi {
  add(input: SilenceInput): Silence;
  list(now?: number): Silence[];
  remove(idOrTarget: string): Silence[];
}

/** Background promises the engine started, so stop() and tests can wait for them. */
class WorkTracker {
  private readonly running = new Set<Promise<unknown>>();

  readonly track = (work: Promise<unknown>): void => {
    const settled = work.then(() => {}, () => {});
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
  };

  async idle(busy: () => boolean): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.running.size === 0 && !busy()) return;
      await Promise.all(this.running);
    }
  }
}

export class AlertEngine implements AlertSink {
  readonly silences: SilenceApi;
  private config: Config;
  private notifiers: ReadonlyMap<string, Notifier>;
  private targets = new Map<string, Target>();
  private dependents = new Map<string, string[]>();
  private readonly queues = new Map<string, NotifierQueue>();
  private calendar: MaintenanceCalendar;
  private openWindows = new Set<string>();
  private suppressionTimer: TimerHandle | undefined;
  private readonly counters: DeliveryCounters = { sent: {}, failed: {}, retries: 0, givenUp: 0 };
  private readonly tracker = new WorkTracker();
  private readonly ledger: ToldLedger;
  private readonly dispatcher: Dispatcher;
  private readonly reminders: Reminders;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private state: 'open' | 'started' | 'stopped' = 'open';
  /** Events of alerts pending from the previous run (for lastAnnounced). */
  private readonly restoredEvents: AlertEvent[] = [];

  private constructor(
    options: AlertEngineOptions,
    readonly memos: DurableMemoStore,
    private readonly ownsMemos: boolean,
    private readonly silenceStore: SilenceStore,
    private readonly outbox: Outbox,
  ) {
    this.config = options.config;
    this.notifiers = options.notifiers;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.random = options.random ?? Math.random;
    this.ledger = new ToldLedger(memos);
    this.calendar = this.buildCalendar(options.config);
    this.index(options.config);
    const statusOf = options.statusOf;
    this.dispatcher = new Dispatcher({
      clock: this.clock,
      logger: this.logger,
      outbox,
      ledger: this.ledger,
      statusOf,
      holdLimitMs: () => this.config.delivery.groupWait,
      target: (name) => this.targets.get(name),
      dependents: (name) => this.dependents.get(name) ?? [],
      routes: (target) => notifiersFor(target, this.config.routes),
      queue: (name) => this.queue(name),
      suppression: (target, now) => this.suppression(target, now),
      told: (target, event) => this.reminders.told(target, event),
      track: this.tracker.track,
    });
    this.reminders = new Reminders({
      clock: this.clock,
      ledger: this.ledger,
      statusOf,
      target: (name) => this.targets.get(name),
      notifierConfig: (name) => this.config.notifiers[name],
      routes: (target) => notifiersFor(target, this.config.routes),
      suppressed: (target, now) => this.suppression(target, now) !== undefined,
      send: (notifier, events) => this.tracker.track(this.queue(notifier).offer(events, 'reminder')),
    });
    this.silences = {
      add: (input) => this.addSilence(input),
      list: (now) => this.silenceStore.list(now),
      remove: (idOrTarget) => this.removeSilence(idOrTarget),
    };
    for (const name of this.notifiers.keys()) this.queue(name);
  }

  /** Opens the state under `stateDir`: undelivered alerts from a previous run go out once started. */
  static async open(options: AlertEngineOptions): Promise<AlertEngine> {
    const clock = options.clock ?? systemClock;
    await mkdir(options.stateDir, { recursive: true });
    const memos = options.memos ?? (await openMemoStore(options.stateDir, options.logger, { clock }));
    const silences = await SilenceStore.open(join(options.stateDir, 'silences.json'), clock, options.logger);
    const { outbox, records } = await Outbox.open(join(options.stateDir, 'outbox'), options.logger);
    const engine = new AlertEngine(options, memos, options.memos === undefined, silences, outbox);
    engine.restore(records);
    return engine;
  }

  publish(events: readonly TransitionEvent[], target: Target): void {
    try {
      if (events.length > 0) this.dispatcher.publish(events, target);
    } catch (error) {
      this.logger.error({ target: target.name, err: error }, 'could not take alert events');
    }
  }

  start(): void {
    if (this.state !== 'open') return;
    this.state = 'started';
    for (const queue of this.queues.values()) queue.start();
    this.dispatcher.start();
    this.reminders.start();
    const now = this.clock.now();
    this.openWindows = new Set(this.calendar.openWindows(now).map((window) => window.name));
    // Silences and windows that ended while probebot was stopped.
    const expired = this.silenceStore.pruneExpired(now);
    this.catchUp(expired, [], 'silence or maintenance ended while probebot was stopped');
    this.armSuppressionTimer();
  }

  /** Aborts deliveries in flight (they stay in the outbox), clears timers, writes what is pending. */
  /** Stops delivery; deliveries in flight get up to graceMs to finish before they are aborted. */
  async stop(graceMs = 0): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    await Promise.all([...this.queues.values()].map((queue) => queue.quiesce(graceMs)));
    this.dispatcher.stop();
    this.reminders.stop();
    for (const queue of this.queues.values()) queue.stop();
    if (this.suppressionTimer !== undefined) this.clock.clearTimeout(this.suppressionTimer);
    this.suppressionTimer = undefined;
    this.calendar.stop();
    await this.tracker.idle(() => false);
    await this.outbox.close();
    await this.silenceStore.flush();
    await (this.ownsMemos ? this.memos.close() : this.memos.flush()).catch((error: unknown) =>
      this.logger.error({ err: error }, 'could not save memos'),
    );
  }

  /**
   * Hot reload: new routes, targets, windows and notifier instances. Alerts pending for a notifier
   * that is gone are kept (and logged) until it comes back.
   */
  updateConfig(config: Config, notifiers: ReadonlyMap<string, Notifier>): void {
    this.config = config;
    this.notifiers = notifiers;
    this.index(config);
    for (const [name, notifier] of notifiers) this.queue(name).configure(notifier, this.settingsFor(name));
    for (const [name, queue] of this.queues) {
      if (notifiers.has(name)) continue;
      if (queue.isEmpty()) {
        queue.stop();
        this.queues.delete(name);
      } else queue.configure(undefined, this.settingsFor(name));
    }
    this.calendar.stop();
    this.calendar = this.buildCalendar(config);
    if (this.state === 'started') {
      this.onSuppressionBoundary();
      this.reminders.arm();
    }
  }

  stats(): DeliveryStats {
    const now = this.clock.now();
    let pending = 0;
    let oldest: number | undefined;
    const parts = [...[...this.queues.values()].map((queue) => queue.pending()), { alerts: 0, ...this.dispatcher.pendingHolds() }];
    for (const part of parts) {
      pending += part.alerts + part.events;
      if (part.oldestAt !== undefined && (oldest === undefined || part.oldestAt < oldest)) oldest = part.oldestAt;
    }
    const { sent, failed, retries, givenUp } = this.counters;
    return { pending, oldestPendingAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest), sent: { ...sent }, failed: { ...failed }, retries, givenUp };
  }

  /**
   * Resolves once every answered delivery is settled and everything so far is on disk (timers may
   * still be set): for tests and benchmarks.
   */
  async idle(): Promise<void> {
    await this.tracker.idle(() => this.dispatcher.hasPendingTick);
    await this.outbox.idle();
    await this.silenceStore.flush();
    await this.memos.flush().catch(() => {});
  }

  /**
   * The newest announcement the engine holds for each target: what it last told people, or a
   * pending alert newer than that. The outbox is written the moment a transition happens, while
   * target states are saved in batches, so after a crash this can be newer than the saved state.
   */
  lastAnnounced(): Map<string, { state: AnnouncedState; at: number; incidentId?: string }> {
    const latest = new Map<string, { state: AnnouncedState; at: number; incidentId?: string }>();
    const consider = (target: string, state: AnnouncedState, at: number, incidentId: string | undefined) => {
      const known = latest.get(target);
      if (known && known.at > at) return;
      latest.set(target, incidentId === undefined ? { state, at } : { state, at, incidentId });
    };
    for (const target of this.ledger.targets()) {
      const told = this.ledger.get(target)!;
      consider(target, told.state, told.at, told.incidentId);
    }
    for (const event of this.restoredEvents) if (event.kind === 'state') consider(event.target, event.to, event.at, event.incidentId);
    return latest;
  }

  private restore(records: Parameters<typeof pendingWork>[0]): void {
    for (const record of records) {
      if (record.kind === 'alert') this.restoredEvents.push(...record.alert.events);
      else this.restoredEvents.push(...record.events);
    }
    const work = pendingWork(records);
    const notifierNames = new Set([...work.alerts.keys(), ...work.collects.keys()]);
    for (const name of notifierNames) this.queue(name).restore(work.alerts.get(name) ?? [], work.collects.get(name) ?? []);
    this.dispatcher.restoreHolds(work.holds);
    if (work.obsolete.length > 0) this.tracker.track(this.outbox.remove(work.obsolete));
    const pending = this.stats().pending;
    if (pending > 0) this.logger.info({ pending }, 'undelivered alerts from the previous run will be delivered');
  }

  /** The queue of a notifier; one for a name not (or no longer) configured keeps its alerts parked. */
  private queue(name: string): NotifierQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      const notifier = this.notifiers.get(name);
      queue = new NotifierQueue(name, {
        clock: this.clock,
        logger: this.logger,
        outbox: this.outbox,
        flushMemos: () => this.memos.flush(),
        random: this.random,
        counters: this.counters,
        track: this.tracker.track,
      }, notifier, this.settingsFor(name));
      if (notifier === undefined) this.logger.warn({ notifier: name }, 'alerts for a notifier that is not configured are kept in the outbox');
      this.queues.set(name, queue);
      if (this.state === 'started') queue.start();
    }
    return queue;
  }

  private settingsFor(name: string): QueueSettings {
    const notifierConfig = this.config.notifiers[name];
    const { delivery } = this.config;
    const settings: QueueSettings = { groupWait: notifierConfig?.groupWait ?? delivery.groupWait, giveUpAfter: delivery.giveUpAfter, maxBackoff: delivery.maxBackoff };
    if (notifierConfig !== undefined) settings.type = notifierConfig.type;
    return settings;
  }

  private index(config: Config): void {
    this.targets = new Map(config.targets.map((target) => [target.name, target]));
    this.dependents = dependentsIndex(config.targets);
    this.ledger.keepOnly(new Set(this.targets.keys()));
  }

  private buildCalendar(config: Config): MaintenanceCalendar {
    const { calendar, errors } = MaintenanceCalendar.build(config.maintenance);
    for (const error of errors) this.logger.error(error);
    return calendar;
  }

  private suppression(target: Target, now: number): string | undefined {
    const silence = this.silenceStore.activeFor(target, now);
    if (silence !== undefined) return `silence ${silence.id}`;
    const window = this.calendar.windowFor(target, now);
    return window === undefined ? undefined : `maintenance window ${window}`;
  }

  private addSilence(input: SilenceInput): Silence {
    const silence = this.silenceStore.add(input);
    this.logger.info({ silence: silence.id, matcher: silence.matcher, until: new Date(silence.until).toISOString(), author: silence.author, reason: silence.reason }, 'silence added');
    this.reminders.arm();
    this.armSuppressionTimer();
    return silence;
  }

  private removeSilence(idOrTarget: string): Silence[] {
    const removed = this.silenceStore.remove(idOrTarget);
    if (removed.length === 0) return removed;
    this.logger.info({ silences: removed.map((silence) => silence.id) }, 'silence removed');
    this.catchUp(removed, [], 'silence removed');
    this.reminders.arm();
    this.armSuppressionTimer();
    return removed;
  }

  /** Announces what silenced targets missed, now that these silences and windows are over. */
  private catchUp(silences: readonly Silence[], windows: readonly MaintenanceWindow[], fallback: string): void {
    if (this.state !== 'started') return;
    this.dispatcher.catchUp(this.ledger.missed(), (target) => {
      const silence = silences.find((candidate) => silenceCovers(candidate, target));
      if (silence !== undefined) return `silence ended: ${silence.reason}`;
      const window = windows.find((candidate) => windowCovers(candidate, target));
      return window === undefined ? fallback : `maintenance window ${window.name} ended`;
    });
  }

  /** A silence expired or a window opened or closed. */
  private onSuppressionBoundary(): void {
    const now = this.clock.now();
    const expired = this.silenceStore.pruneExpired(now);
    const open = new Set(this.calendar.openWindows(now).map((window) => window.name));
    const closed = this.config.maintenance.filter((window) => this.openWindows.has(window.name) && !open.has(window.name));
    const removedWindows = [...this.openWindows].filter((name) => !this.config.maintenance.some((window) => window.name === name));
    this.openWindows = open;
    if (expired.length > 0 || closed.length > 0 || removedWindows.length > 0) this.catchUp(expired, closed, 'maintenance window ended');
    this.reminders.arm();
    this.armSuppressionTimer();
  }

  private armSuppressionTimer(): void {
    if (this.suppressionTimer !== undefined) this.clock.clearTimeout(this.suppressionTimer);
    this.suppressionTimer = undefined;
    if (this.state !== 'started') return;
    const now = this.clock.now();
    const candidates = [this.silenceStore.nextExpiry(), this.calendar.nextBoundary(now)].filter((at): at is number => at !== undefined);
    if (candidates.length === 0) return;
    const delay = Math.min(Math.max(0, Math.min(...candidates) - now), MAX_TIMER_MS);
    this.suppressionTimer = this.clock.setTimeout(() => {
      this.suppressionTimer = undefined;
      this.onSuppressionBoundary();
    }, delay);
  }
}
