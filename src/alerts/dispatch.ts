/**
 * The way from a transition to the notifier queues: silences and maintenance windows first, then
 * dependencies (fold a dependent's DOWN into its dependency's alert, or hold it while the
 * dependency is still being confirmed), then routing. Events of one tick are handled together,
 * so a storm's first batch travels as one alert.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import { targetAddress } from '../config/address.js';
import type { Target } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { TransitionEvent } from '../monitor/types.js';
import { dependencyVerdict, recheckAfterRecovery, type StatusLookup } from './dependencies.js';
import type { AlertEvent } from './notifier.js';
import type { NotifierQueue } from './notifier-queue.js';
import type { HoldRecord, Outbox } from './outbox.js';
import { isDown, isRecovery } from './summary.js';
import { catchUpEvent, type ToldLedger } from './told.js';

/** How often folded dependents are looked at again after their dependency recovered. */
export const RECHECK_INTERVAL_MS = 1_000;

export interface DispatchContext {
  clock: Clock;
  logger: Logger;
  outbox: Outbox;
  ledger: ToldLedger;
  statusOf: StatusLookup;
  /** The longest a DOWN is held for its dependency (delivery.groupWait). */
  holdLimitMs(): number;
  target(name: string): Target | undefined;
  dependents(name: string): readonly string[];
  /** The notifier names a target's events go to, and their queues. */
  routes(target: Target): string[];
  queue(notifier: string): NotifierQueue;
  /** Why the target's notifications are suppressed right now (a silence or a window), if they are. */
  suppression(target: Target, now: number): string | undefined;
  /** Called for each event that went out (reminders follow it). */
  told(target: Target, event: AlertEvent): void;
  track(work: Promise<unknown>): void;
}

interface Hold {
  target: Target;
  waitingOn: string[];
  since: number;
  events: AlertEvent[];
  records: string[];
  timer: TimerHandle | undefined;
}

/** The events of one tick, per queue, and the hold records they replace. */
class Batch {
  readonly perQueue = new Map<NotifierQueue, AlertEvent[]>();
  readonly releasedHolds: string[] = [];

  add(queue: NotifierQueue, event: AlertEvent): void {
    const events = this.perQueue.get(queue);
    if (events === undefined) this.perQueue.set(queue, [event]);
    else events.push(event);
  }
}

/** A transition as notifiers receive it, with a fresh id that stays with it from now on. */
export function toAlertEvent(event: TransitionEvent, target: Target): AlertEvent {
  return { ...event, id: randomUUID(), targetType: target.type, address: targetAddress(target), labels: { ...target.labels } };
}

export class Dispatcher {
  private inbox: { event: AlertEvent; target: Target }[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly holds = new Map<string, Hold>();
  private readonly rechecks = new Map<string, { dependency: string; since: number }>();
  private recheckTimer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly context: DispatchContext) {}

  /** Takes events for the next tick; never throws. */
  publish(events: readonly TransitionEvent[], target: Target): void {
    for (const event of events) this.inbox.push({ event: toAlertEvent(event, target), target });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  get hasPendingTick(): boolean {
    return this.scheduled !== undefined;
  }

  /** Holds a previous run left in the outbox: they wait again, at most the hold limit from now. */
  restoreHolds(records: ReadonlyMap<string, readonly HoldRecord[]>): void {
    const now = this.context.clock.now();
    for (const [name, list] of records) {
      const target = this.context.target(name);
      const events = list.flatMap((record) => record.events);
      if (target === undefined) {
        this.context.logger.error({ target: name, events: events.length }, 'held alerts belong to a target no longer in the config; left in the outbox');
        continue;
      }
      const hold: Hold = { target, waitingOn: target.dependsOn, since: now, events, records: list.map((record) => record.id), timer: undefined };
      this.holds.set(name, hold);
    }
  }

  start(): void {
    this.running = true;
    for (const hold of this.holds.values()) this.armHold(hold);
    this.armRechecks();
  }

  /** Hands on what this tick still has (so it is written) and clears every timer; holds stay on disk. */
  stop(): void {
    this.flush();
    this.running = false;
    for (const hold of this.holds.values()) if (hold.timer !== undefined) this.context.clock.clearTimeout(hold.timer);
    if (this.recheckTimer !== undefined) this.context.clock.clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
  }

  /** Held events and since when the oldest waits. */
  pendingHolds(): { events: number; oldestAt: number | undefined } {
    let events = 0;
    let oldestAt: number | undefined;
    for (const hold of this.holds.values()) {
      events += hold.events.length;
      for (const event of hold.events) if (oldestAt === undefined || event.at < oldestAt) oldestAt = event.at;
    }
    return { events, oldestAt };
  }

  /**
   * After a silence or a window ended: each named target whose announced state differs from what
   * its notifiers were last told is announced once.
   */
  catchUp(names: Iterable<string>, reasonFor: (target: Target) => string): void {
    const { clock, ledger, statusOf } = this.context;
    const now = clock.now();
    for (const name of names) {
      const target = this.context.target(name);
      const status = statusOf(name);
      if (target === undefined || status === undefined || this.context.suppression(target, now) !== undefined) continue;
      ledger.clearMissed(name);
      const event = catchUpEvent(name, ledger.get(name), status, now, reasonFor(target));
      if (event !== undefined) this.publish([event], target);
    }
  }

  private flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const items = this.inbox;
    if (items.length === 0) return;
    this.inbox = [];
    const batch = new Batch();
    for (const { event, target } of items) {
      try {
        this.dispatch(event, target, batch, true);
      } catch (error) {
        this.context.logger.error({ target: target.name, err: error }, 'could not dispatch an alert event');
      }
    }
    this.commit(batch);
  }

  private commit(batch: Batch): void {
    const written = [...batch.perQueue].map(([queue, events]) => queue.offer(events, 'transition'));
    if (batch.releasedHolds.length === 0) return;
    const ids = batch.releasedHolds;
    // Durable: a held DOWN coming back after a crash would be announced twice.
    this.context.track(Promise.allSettled(written).then(() => this.context.outbox.remove(ids, { durable: true })));
  }

  private dispatch(event: AlertEvent, target: Target, batch: Batch, mayHold: boolean): void {
    const { clock, logger, ledger } = this.context;
    const now = clock.now();
    const held = this.holds.get(target.name);
    if (held !== undefined && mayHold) return this.holdMore(held, event);
    const suppressed = this.context.suppression(target, now);
    if (suppressed === undefined && this.foldOrHold(event, target, mayHold, now)) return; // its own dependents keep waiting
    // This target's own transition is what its held dependents were waiting for.
    const released = [...this.holds.values()].filter((hold) => hold.waitingOn.includes(target.name));
    for (const hold of released) this.forgetHold(hold);
    if (suppressed !== undefined) {
      ledger.markMissed(target.name, event);
      logger.debug({ target: target.name, event: `${event.from} -> ${event.to}`, by: suppressed }, 'notification silenced');
    } else {
      if (isDown(event) && event.suppressedBy === undefined) {
        const folding = released.filter((hold) => hold.events.some(isDown)).map((hold) => hold.target.name);
        if (folding.length > 0) event.dependents = [...new Set([...(event.dependents ?? []), ...folding])];
      }
      this.route(event, target, batch);
      if (isRecovery(event)) this.recheckDependents(target.name, event.at);
    }
    for (const hold of released) this.release(hold, batch, isDown(event) ? target.name : undefined);
  }

  /** Marks a dependent's DOWN as folded, or holds it; true when held. */
  private foldOrHold(event: AlertEvent, target: Target, mayHold: boolean, now: number): boolean {
    if (!isDown(event) || event.suppressedBy !== undefined || target.dependsOn.length === 0) return false;
    const verdict = dependencyVerdict(target.dependsOn, this.context.statusOf);
    if (verdict.kind === 'fold') event.suppressedBy = verdict.dependency;
    if (verdict.kind !== 'hold' || !mayHold) return false;
    const { record } = this.context.outbox.write({ kind: 'hold', id: randomUUID(), target: target.name, since: now, events: [event] });
    const hold: Hold = { target, waitingOn: verdict.dependencies, since: now, events: [event], records: [record.id], timer: undefined };
    this.holds.set(target.name, hold);
    this.armHold(hold);
    this.context.logger.debug({ target: target.name, dependencies: verdict.dependencies }, 'holding DOWN until its dependency is confirmed');
    return true;
  }

  /** A later event of a held target waits behind its DOWN, keeping their order. */
  private holdMore(hold: Hold, event: AlertEvent): void {
    const { record } = this.context.outbox.write({ kind: 'hold', id: randomUUID(), target: hold.target.name, since: hold.since, events: [event] });
    hold.events.push(event);
    hold.records.push(record.id);
  }

  private armHold(hold: Hold): void {
    if (!this.running || hold.timer !== undefined) return;
    const delay = Math.max(0, hold.since + this.context.holdLimitMs() - this.context.clock.now());
    hold.timer = this.context.clock.setTimeout(() => {
      hold.timer = undefined;
      if (this.holds.get(hold.target.name) !== hold) return;
      this.forgetHold(hold);
      const batch = new Batch();
      this.release(hold, batch, undefined);
      this.commit(batch);
    }, delay);
  }

  private forgetHold(hold: Hold): void {
    if (hold.timer !== undefined) this.context.clock.clearTimeout(hold.timer);
    hold.timer = undefined;
    this.holds.delete(hold.target.name);
  }

  /** Passes held events on: folded into `foldInto` when that dependency just went DOWN, else as they now stand. */
  private release(hold: Hold, batch: Batch, foldInto: string | undefined): void {
    batch.releasedHolds.push(...hold.records);
    for (const event of hold.events) {
      if (foldInto !== undefined && isDown(event) && event.suppressedBy === undefined) event.suppressedBy = foldInto;
      this.dispatch(event, hold.target, batch, false);
    }
  }

  private route(event: AlertEvent, target: Target, batch: Batch): void {
    const told = this.context.ledger.get(target.name);
    // A pager never heard of a folded DOWN, so it hears nothing of its recovery either.
    const recoveryOfFolded = isRecovery(event) && told?.state === 'DOWN' && told.suppressedBy !== undefined;
    for (const name of this.context.routes(target)) {
      const queue = this.context.queue(name);
      if (queue.pages && (event.suppressedBy !== undefined || recoveryOfFolded)) continue;
      batch.add(queue, event);
    }
    this.context.ledger.record(event);
    this.context.told(target, event);
  }

  /** The dependency is back: its folded dependents get looked at until they show they are up or still down. */
  private recheckDependents(dependency: string, since: number): void {
    for (const name of this.context.dependents(dependency)) {
      const told = this.context.ledger.get(name);
      if (told?.state === 'DOWN' && told.suppressedBy === dependency) this.rechecks.set(name, { dependency, since });
    }
    this.armRechecks();
  }

  private armRechecks(): void {
    if (!this.running || this.recheckTimer !== undefined || this.rechecks.size === 0) return;
    this.recheckTimer = this.context.clock.setTimeout(() => {
      this.recheckTimer = undefined;
      this.runRechecks();
      this.armRechecks();
    }, RECHECK_INTERVAL_MS);
  }

  private runRechecks(): void {
    const { clock, ledger, statusOf } = this.context;
    const now = clock.now();
    for (const [name, { dependency, since }] of this.rechecks) {
      const target = this.context.target(name);
      const told = ledger.get(name);
      if (target === undefined || told?.state !== 'DOWN' || told.suppressedBy !== dependency) {
        this.rechecks.delete(name);
        continue;
      }
      const status = statusOf(name);
      const verdict = recheckAfterRecovery(status, since, now);
      if (verdict === 'wait') continue;
      this.rechecks.delete(name);
      if (verdict === 'drop' || status === undefined) continue;
      const other = target.dependsOn.find((dep) => dep !== dependency && statusOf(dep)?.state === 'DOWN');
      if (other !== undefined) {
        ledger.refold(name, other);
        continue;
      }
      const event: TransitionEvent = {
        target: name,
        kind: 'state',
        from: told.from,
        to: 'DOWN',
        at: now,
        result: status.lastResult ?? { ok: false, latencyMs: 0, at: now },
        reason: `still down after dependency ${dependency} recovered`,
      };
      const incidentId = status.incident?.id ?? told.incidentId;
      if (incidentId !== undefined) event.incidentId = incidentId;
      this.publish([event], target);
    }
  }
}
