import type { AlertSink } from '../alerts/types.js';
import type { Clock } from '../clock.js';
import type { Target } from '../config/schema.js';
import type { ProbeResult } from '../probes/types.js';
import { adoptAnnouncement, changesSavedState, initialStatus, step } from './state-machine.js';
import type { StateStore } from './store.js';
import type { AnnouncedState, TargetStatus, TransitionEvent } from './types.js';

/**
 * Holds every target's status: feeds probe results through the pure state machine, hands the
 * changed status to the store and the resulting events to the alert sink.
 */
export class Monitor {
  private readonly statuses: Map<string, TargetStatus>;

  constructor(
    loaded: Map<string, TargetStatus>,
    private readonly store: StateStore,
    private readonly sink: AlertSink,
    private readonly clock: Clock,
  ) {
    this.statuses = loaded;
  }

  /** Makes sure a target has a status (a new target starts UNKNOWN). */
  track(target: Target): void {
    if (!this.statuses.has(target.name)) this.statuses.set(target.name, initialStatus(target.name, this.clock.now()));
  }

  /**
   * Forgets a target that left the config (its stored state goes with it). With a reason, an open
   * incident is closed: a recovery event is returned so the notifiers resolve it.
   */
  untrack(name: string, closeIncidentBecause?: string): TransitionEvent | undefined {
    const status = this.statuses.get(name);
    this.statuses.delete(name);
    this.store.remove(name);
    if (!status?.incident || closeIncidentBecause === undefined) return undefined;
    const now = this.clock.now();
    return {
      target: name,
      kind: 'state',
      from: status.announced,
      to: 'UP',
      at: now,
      result: status.lastResult ?? { ok: false, latencyMs: 0, at: now },
      reason: closeIncidentBecause,
      incidentId: status.incident.id,
      downForMs: now - status.incident.since,
    };
  }

  /** Takes over announcements the alert engine knows of but the saved states missed (a crash). */
  adoptAnnouncements(announced: ReadonlyMap<string, { state: AnnouncedState; at: number; incidentId?: string }>): string[] {
    const adopted: string[] = [];
    for (const [name, announcement] of announced) {
      const status = this.statuses.get(name);
      if (!status) continue;
      const next = adoptAnnouncement(status, announcement);
      if (next === status) continue;
      this.statuses.set(name, next);
      this.store.update(next);
      adopted.push(name);
    }
    return adopted;
  }

  statusOf(name: string): TargetStatus | undefined {
    return this.statuses.get(name);
  }

  all(): IterableIterator<TargetStatus> {
    return this.statuses.values();
  }

  /**
   * Applies one scheduled probe result. Returns the events it caused and, while the target is
   * failing but not yet DOWN, how soon to probe again (the retry interval).
   */
  record(target: Target, result: ProbeResult): { events: TransitionEvent[]; nextRunInMs?: number } {
    const current = this.statuses.get(target.name) ?? initialStatus(target.name, this.clock.now());
    const { status, events } = step(current, result, target, this.clock.now());
    this.statuses.set(target.name, status);
    this.store.update(status, changesSavedState(current, status, target));
    if (events.length > 0) this.sink.publish(events, target);
    const confirming = status.state !== 'DOWN' && status.consecutiveFailures > 0;
    return confirming && target.retryInterval < target.interval ? { events, nextRunInMs: target.retryInterval } : { events };
  }
}
