/**
 * Reminders: while a target stays DOWN, each of its notifiers hears about it again every
 * `repeatInterval`. The schedule is derived from what was told and when the last reminder went
 * (both kept in the told ledger), so a restart neither repeats nor forgets one.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { NotifierConfig, Target } from '../config/schema.js';
import type { TargetStatus, TransitionEvent } from '../monitor/types.js';
import type { StatusLookup } from './dependencies.js';
import { toAlertEvent } from './dispatch.js';
import type { AlertEvent } from './notifier.js';
import { humanDuration } from './summary.js';
import type { ToldLedger } from './told.js';

/**
 * The notifier's own `repeatInterval`, else the target's; PagerDuty only reminds when its own
 * notifier asks for it (re-triggering an incident is for whoever set up the pager).
 */
export function reminderInterval(notifier: NotifierConfig | undefined, target: Pick<Target, 'repeatInterval'>): number | undefined {
  if (notifier?.repeatInterval !== undefined) return notifier.repeatInterval;
  if (notifier?.type === 'pagerduty') return undefined;
  return target.repeatInterval;
}

/** When the next reminder is due: one interval after the last reminder, or after the DOWN was told. */
export function nextReminderAt(toldAt: number, lastReminderAt: number | undefined, interval: number): number {
  return Math.max(toldAt, lastReminderAt ?? toldAt) + interval;
}

/** Reminders due within this much of each other go out together (one grouped alert per notifier). */
export const REMINDER_BATCH_MS = 10_000;

/** Timers are re-armed at least this often, so a long wait never overflows setTimeout. */
export const MAX_TIMER_MS = 3_600_000;

export interface ReminderContext {
  clock: Clock;
  ledger: ToldLedger;
  statusOf: StatusLookup;
  target(name: string): Target | undefined;
  notifierConfig(name: string): NotifierConfig | undefined;
  routes(target: Target): string[];
  suppressed(target: Target, now: number): boolean;
  send(notifier: string, events: AlertEvent[]): void;
}

interface Due {
  target: Target;
  status: TargetStatus & { incident: { id: string; since: number } };
  notifier: string;
  at: number;
  interval: number;
}

/** Watches the targets told DOWN and sends their reminders, grouped per notifier when due together. */
export class Reminders {
  private readonly watched = new Set<string>();
  private timer: TimerHandle | undefined;
  private timerAt = 0;
  private running = false;

  constructor(private readonly context: ReminderContext) {}

  start(): void {
    this.running = true;
    for (const name of this.context.ledger.toldDown()) this.watched.add(name);
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.context.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Follows what a target was just told: a DOWN starts reminders, anything else ends them. */
  told(target: Target, event: AlertEvent): void {
    if (event.to !== 'DOWN' || event.kind !== 'state' || event.suppressedBy !== undefined) {
      this.watched.delete(target.name); // a timer set for it finds nothing due and re-arms
      return;
    }
    this.watched.add(target.name);
    if (!this.running) return; // start() arms for everyone
    // Only this target's schedule is new: look at it alone (a storm must not cost n² here).
    const soonest = this.soonest(this.dueOf(target.name, this.context.clock.now()));
    if (soonest !== undefined && (this.timer === undefined || soonest < this.timerAt)) this.armAt(soonest);
  }

  /** Sets the timer for the soonest reminder (again after silences, windows or config changed). */
  arm(): void {
    if (!this.running) return;
    if (this.timer !== undefined) this.context.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const soonest = this.soonest(this.due(this.context.clock.now()));
    if (soonest !== undefined) this.armAt(soonest);
  }

  private armAt(at: number): void {
    if (this.timer !== undefined) this.context.clock.clearTimeout(this.timer);
    const now = this.context.clock.now();
    this.timerAt = Math.min(at, now + MAX_TIMER_MS);
    this.timer = this.context.clock.setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, Math.max(0, this.timerAt - now));
  }

  private soonest(due: readonly Due[]): number | undefined {
    return due.reduce<number | undefined>((min, entry) => (min === undefined || entry.at < min ? entry.at : min), undefined);
  }

  private fire(): void {
    const { clock, ledger } = this.context;
    const now = clock.now();
    const batches = new Map<string, AlertEvent[]>();
    for (const due of this.due(now)) {
      if (due.at > now + Math.min(REMINDER_BATCH_MS, due.interval / 10)) continue;
      const events = batches.get(due.notifier) ?? [];
      events.push(reminderEvent(due.target, due.status, now));
      batches.set(due.notifier, events);
      ledger.reminded(due.target.name, due.notifier, now);
    }
    for (const [notifier, events] of batches) this.context.send(notifier, events);
    this.arm();
  }

  /** Every reminder still wanted, with when it is due; targets no longer DOWN stop being watched. */
  private due(now: number): Due[] {
    return [...this.watched].flatMap((name) => this.dueOf(name, now));
  }

  private dueOf(name: string, now: number): Due[] {
    const { ledger, statusOf } = this.context;
    const status = statusOf(name);
    const told = ledger.get(name);
    const target = this.context.target(name);
    if (status === undefined || target === undefined) return []; // not loaded yet, or gone from the config
    if (status.announced !== 'DOWN' || status.incident === undefined || told?.state !== 'DOWN' || told.suppressedBy !== undefined) {
      this.watched.delete(name);
      return [];
    }
    if (this.context.suppressed(target, now)) return [];
    const incident = status.incident;
    const due: Due[] = [];
    for (const notifier of this.context.routes(target)) {
      const interval = reminderInterval(this.context.notifierConfig(notifier), target);
      if (interval === undefined) continue;
      const at = nextReminderAt(told.at, told.remindedAt?.[notifier], interval);
      due.push({ target, status: { ...status, incident }, notifier, at, interval });
    }
    return due;
  }
}

/** "still DOWN for 2h: connect ECONNREFUSED …", as a DOWN → DOWN event of the open incident. */
export function reminderEvent(target: Target, status: TargetStatus & { incident: { id: string; since: number } }, now: number): AlertEvent {
  const error = status.lastResult?.error;
  const event: TransitionEvent = {
    target: target.name,
    kind: 'state',
    from: 'DOWN',
    to: 'DOWN',
    at: now,
    result: status.lastResult ?? { ok: false, latencyMs: 0, at: now },
    reason: `still DOWN for ${humanDuration(now - status.incident.since)}${error === undefined ? '' : `: ${error}`}`,
    incidentId: status.incident.id,
  };
  return toAlertEvent(event, target);
}
