/**
 * What people were last told about each target, kept in the memo store so it survives restarts.
 * Silences, maintenance windows and reminders compare it with what the state machine has announced.
 */
import type { AnnouncedState, TargetStatus, TransitionEvent } from '../monitor/types.js';
import type { DurableMemoStore } from './memos.js';
import type { AlertEvent } from './notifier.js';

/** The memo namespace of the engine itself ("@" cannot start a notifier name). */
export const ENGINE_MEMOS = '@engine';
const KEY_PREFIX = 'told:';

export interface Told {
  state: AnnouncedState;
  /** The state before it, as the event said. */
  from: AnnouncedState;
  /** When it was told. */
  at: number;
  incidentId?: string;
  /** The told DOWN was folded into this dependency's alert. */
  suppressedBy?: string;
  /** A change happened while silenced: compare again when the silence ends. */
  missed?: boolean;
  /** Last reminder per notifier, ms since the epoch. */
  remindedAt?: Record<string, number>;
}

export class ToldLedger {
  private readonly told = new Map<string, Told>();

  constructor(private readonly memos: DurableMemoStore) {
    for (const [key, memo] of memos.entries(ENGINE_MEMOS)) {
      if (key.startsWith(KEY_PREFIX) && typeof memo.state === 'string') this.told.set(key.slice(KEY_PREFIX.length), memo as unknown as Told);
    }
  }

  get(target: string): Told | undefined {
    return this.told.get(target);
  }

  targets(): string[] {
    return [...this.told.keys()];
  }

  /** Targets whose DOWN was told (and not folded): the ones reminders are about. */
  toldDown(): string[] {
    return [...this.told].filter(([, told]) => told.state === 'DOWN' && told.suppressedBy === undefined).map(([target]) => target);
  }

  /** Targets with a change that a silence kept from people. */
  missed(): string[] {
    return [...this.told].filter(([, told]) => told.missed === true).map(([target]) => target);
  }

  /** Records an event that went out to the target's notifiers. */
  record(event: AlertEvent): void {
    const told: Told = { state: event.to, from: event.from, at: event.at };
    if (event.incidentId !== undefined) told.incidentId = event.incidentId;
    if (event.suppressedBy !== undefined) told.suppressedBy = event.suppressedBy;
    this.save(event.target, told);
  }

  /**
   * Notes that an event for the target was silenced. With nothing told yet, people are taken to
   * know the state the event started from (a healthy start is silent but known).
   */
  markMissed(target: string, event: TransitionEvent): void {
    const told = this.told.get(target) ?? { state: event.from, from: event.from, at: event.at };
    if (told.missed !== true) this.save(target, { ...told, missed: true });
  }

  clearMissed(target: string): void {
    const told = this.told.get(target);
    if (told?.missed !== true) return;
    const { missed: _missed, ...rest } = told;
    this.save(target, rest);
  }

  /** The folded DOWN now rides on another dependency's alert. */
  refold(target: string, dependency: string): void {
    const told = this.told.get(target);
    if (told !== undefined) this.save(target, { ...told, suppressedBy: dependency });
  }

  reminded(target: string, notifier: string, at: number): void {
    const told = this.told.get(target);
    if (told !== undefined) this.save(target, { ...told, remindedAt: { ...told.remindedAt, [notifier]: at } });
  }

  /** Forgets targets no longer in the config. */
  keepOnly(targets: ReadonlySet<string>): void {
    for (const target of [...this.told.keys()]) {
      if (targets.has(target)) continue;
      this.told.delete(target);
      this.memos.delete(ENGINE_MEMOS, KEY_PREFIX + target);
    }
  }

  private save(target: string, told: Told): void {
    this.told.set(target, told);
    this.memos.set(ENGINE_MEMOS, KEY_PREFIX + target, told as unknown as Record<string, unknown>);
  }
}

/** UP and UNKNOWN are both "nothing to tell". */
function sameNews(a: AnnouncedState, b: AnnouncedState): boolean {
  const quiet = (state: AnnouncedState) => state === 'UP' || state === 'UNKNOWN';
  return a === b || (quiet(a) && quiet(b));
}

/**
 * The one event that brings people up to date after a silence or a maintenance window: from what
 * they were last told to what the state machine announces now; none when nothing differs. Pure.
 */
export function catchUpEvent(target: string, told: Told | undefined, status: TargetStatus, now: number, reason: string): TransitionEvent | undefined {
  const last = told?.state ?? 'UNKNOWN';
  const current = status.announced;
  if (current === 'UNKNOWN' || sameNews(last, current)) return undefined;
  const kind = current === 'FLAPPING' ? 'flapping' : last === 'FLAPPING' ? 'flapping-ended' : 'state';
  const event: TransitionEvent = {
    target,
    kind,
    from: last,
    to: current,
    at: now,
    result: status.lastResult ?? { ok: current !== 'DOWN', latencyMs: 0, at: now },
    reason,
  };
  if (current === 'DOWN' && status.incident !== undefined) event.incidentId = status.incident.id;
  else if (current === 'UP' && last === 'DOWN' && told?.incidentId !== undefined) {
    event.incidentId = told.incidentId;
    event.downForMs = Math.max(0, now - told.at);
  }
  return event;
}
