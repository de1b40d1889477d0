/**
 * /healthz and /readyz.
 *
 * /healthz is LIVENESS: 503 only when restarting the process is the likely cure, because a
 * liveness failure gets the bot killed, and while it restarts nothing is probed.
 *   - failing (503): probe runs have kept starting later than `lagMs` for `lagSustainMs` (event
 *     loop saturated or the scheduler wedged); or alert delivery stalled: the oldest pending
 *     alert is older than `outboxStuckMs` and no delivery attempt has finished for as long
 *     (with notifiers configured, one finishes at least every maxBackoff + 30 s, so nothing
 *     finishing means the engine is wedged; the outbox is on disk, so a restart resumes it).
 *   - degraded (200, with warnings): things a restart cannot fix and the bot survives. Target
 *     states cannot be saved (disk full: kept in memory, retried every flush); alerts are old
 *     but attempts keep finishing (Slack or PagerDuty down: retried with backoff, durable);
 *     probe runs stuck past their deadline (a probe's bug, holding only its own target).
 *   - stopping (503): a shutdown is under way.
 * Alert on degraded through /metrics (probebot_state_store_failing,
 * probebot_outbox_oldest_pending_seconds), not through restarts.
 *
 * /readyz is READINESS: 200 once started (config loaded and valid, state read, listening; a
 * failed reload keeps the running config, so it stays ready), 503 while stopping. Routes are
 * added only after a successful start, so before that the answer is 404.
 */
import { systemClock, type Clock } from '../clock.js';
import type { TargetStatus } from '../monitor/types.js';
import { sendJson, type RouteHandler } from './server.js';

export interface HealthBounds {
  /** A run starting later than this is late. */
  lagMs: number;
  /** How long runs must keep starting late before liveness fails. */
  lagSustainMs: number;
  /** Oldest pending alert this old, with no delivery attempt finished for as long: stalled. */
  outboxStuckMs: number;
}

export const DEFAULT_HEALTH_BOUNDS: HealthBounds = { lagMs: 5_000, lagSustainMs: 60_000, outboxStuckMs: 10 * 60_000 };

/** A notifier that keeps failing finishes an attempt at least every maxBackoff plus the 30 s attempt deadline. */
export function healthBounds(maxBackoffMs: number): HealthBounds {
  return { ...DEFAULT_HEALTH_BOUNDS, outboxStuckMs: Math.max(DEFAULT_HEALTH_BOUNDS.outboxStuckMs, 2 * (maxBackoffMs + 30_000)) };
}

/** What the bot reports about itself (Bot.health() and Bot.statuses()). */
export interface HealthSource {
  statuses(): readonly TargetStatus[];
  health(): {
    ok: boolean;
    uptimeSeconds: number;
    scheduler: { jobs: number; running: number; queued: number; stuck: number; lastLagMs: number };
    outbox: { pending: number; oldestPendingAgeMs: number; sent: Record<string, number>; failed: Record<string, number>; retries: number };
    state: { failing: boolean; lastError?: string };
  };
}

/** Everything judgeHealth needs, at one instant. */
export interface HealthSnapshot {
  stopping: boolean;
  /** lateForMs: how long runs have kept starting late (the span of consecutive late windows, up to now). */
  scheduler: { jobs: number; stuck: number; lastLagMs: number; lateForMs: number };
  outbox: { pending: number; oldestPendingAgeMs: number; lastProgressAt: number };
  stateStore: { failing: boolean; lastError?: string };
}

export interface HealthVerdict {
  status: 'ok' | 'degraded' | 'failing' | 'stopping';
  httpStatus: 200 | 503;
  /** Why liveness fails. */
  problems: string[];
  /** What is wrong but survivable; liveness stays 200. */
  warnings: string[];
}

/** Pure: the liveness verdict for a snapshot. See the top of this file for the rules. */
export function judgeHealth(snapshot: HealthSnapshot, now: number, bounds: HealthBounds): HealthVerdict {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { scheduler, outbox, stateStore } = snapshot;

  if (scheduler.jobs > 0 && scheduler.lateForMs >= bounds.lagSustainMs) {
    problems.push(`probe runs have started more than ${seconds(bounds.lagMs)} late for ${seconds(scheduler.lateForMs)} (the last one ${seconds(scheduler.lastLagMs)} late)`);
  }

  if (outbox.pending > 0 && outbox.oldestPendingAgeMs >= bounds.outboxStuckMs) {
    const idleFor = now - outbox.lastProgressAt;
    const waiting = `${outbox.pending} alerts pending, the oldest for ${seconds(outbox.oldestPendingAgeMs)}`;
    if (idleFor >= bounds.outboxStuckMs) problems.push(`alert delivery stalled: ${waiting}, and no delivery attempt has finished for ${seconds(idleFor)}`);
    else warnings.push(`alerts are not getting out: ${waiting}; notifiers keep failing and are retried (see probebot_alerts_sent_total)`);
  }

  if (stateStore.failing) {
    warnings.push(`cannot save target states${stateStore.lastError === undefined ? '' : `: ${stateStore.lastError}`}; they are kept in memory and retried every flush`);
  }
  if (scheduler.stuck > 0) warnings.push(`${scheduler.stuck} probe runs ignored their deadline and are stuck; only their own targets are held up`);

  if (snapshot.stopping) return { status: 'stopping', httpStatus: 503, problems: ['probebot is stopping', ...problems], warnings };
  if (problems.length > 0) return { status: 'failing', httpStatus: 503, problems, warnings };
  return { status: warnings.length > 0 ? 'degraded' : 'ok', httpStatus: 200, problems, warnings };
}

/**
 * Runs are judged in windows of this length on a fixed grid: a window is late when over 1% of
 * its runs were (its p99 over the bound). Lateness is sustained over consecutive late windows; a
 * window without runs breaks the streak, so a fleet probed less often than every 10 s is never
 * judged late (one late run must not look like a minute of lateness).
 */
const LAG_WINDOW_MS = 10_000;
const LATE_SHARE = 0.01;

/**
 * The little history judgeHealth needs: since when runs keep starting late (fed by the
 * scheduler's onLag), and when delivery last made progress (noticed at each health check).
 */
export class HealthWatch {
  readonly bounds: HealthBounds;
  readonly clock: Clock;
  /** The open window, by index on the grid. */
  private window = { index: Number.NaN, runs: 0, late: 0 };
  /** First and last index of the current run of consecutive late windows. */
  private streak: { first: number; last: number } | undefined;
  private deliveryCount = -1;
  private lastProgressAt: number;

  constructor(options: { clock: Clock; bounds?: HealthBounds }) {
    this.clock = options.clock;
    this.bounds = options.bounds ?? DEFAULT_HEALTH_BOUNDS;
    this.lastProgressAt = this.clock.now();
  }

  /** From the scheduler's onLag hook: how late one run started. */
  schedulerLag(lagMs: number): void {
    const index = this.closePastWindow();
    if (this.window.index !== index) this.window = { index, runs: 0, late: 0 };
    this.window.runs++;
    if (lagMs > this.bounds.lagMs) this.window.late++;
  }

  snapshot(health: ReturnType<HealthSource['health']>): HealthSnapshot {
    const { scheduler, outbox, state } = health;
    this.noticeDelivery(outbox);
    const index = this.closePastWindow();
    // Current only if it reaches the window before this one: a quiet window since ends it.
    const streak = this.streak !== undefined && this.streak.last >= index - 1 ? this.streak : undefined;
    const lateForMs = streak === undefined ? 0 : (streak.last - streak.first + 1) * LAG_WINDOW_MS;
    return {
      stopping: !health.ok,
      scheduler: { jobs: scheduler.jobs, stuck: scheduler.stuck, lastLagMs: scheduler.lastLagMs, lateForMs },
      outbox: { pending: outbox.pending, oldestPendingAgeMs: outbox.oldestPendingAgeMs, lastProgressAt: this.lastProgressAt },
      stateStore: state.lastError === undefined ? { failing: state.failing } : { failing: state.failing, lastError: state.lastError },
    };
  }

  /** Closes the open window once time has left it; returns the index of the window now is in. */
  private closePastWindow(): number {
    const index = Math.floor(this.clock.now() / LAG_WINDOW_MS);
    const { window } = this;
    if (window.index === index || window.runs === 0) return index;
    if (window.late <= window.runs * LATE_SHARE) this.streak = undefined;
    else if (this.streak !== undefined && this.streak.last === window.index - 1) this.streak.last = window.index;
    else this.streak = { first: window.index, last: window.index };
    this.window = { index, runs: 0, late: 0 };
    return index;
  }

  /** Any alert delivered, refused or retried since the last look is progress. */
  private noticeDelivery(outbox: ReturnType<HealthSource['health']>['outbox']): void {
    const count = sum(outbox.sent) + sum(outbox.failed) + outbox.retries;
    if (count !== this.deliveryCount) this.lastProgressAt = this.clock.now();
    this.deliveryCount = count;
  }
}

/** Counts of targets by what people were last told about them, for /healthz. */
export function summarise(statuses: readonly TargetStatus[]): Record<'total' | 'up' | 'down' | 'unknown' | 'flapping', number> {
  const counts = { total: statuses.length, up: 0, down: 0, unknown: 0, flapping: 0 };
  for (const status of statuses) {
    if (status.flapping) counts.flapping++;
    if (status.state === 'UP') counts.up++;
    else if (status.state === 'DOWN') counts.down++;
    else counts.unknown++;
  }
  return counts;
}

/**
 * The two routes. `watch` must be the one the scheduler's onLag feeds; the default (for callers
 * not wired yet) never sees a run, so it can judge the outbox but never the lag.
 */
export function healthRoutes(source: HealthSource, watch: HealthWatch = new HealthWatch({ clock: systemClock })): Record<string, RouteHandler> {
  return {
    '/healthz': (_request, response) => {
      const health = source.health();
      const verdict = judgeHealth(watch.snapshot(health), watch.clock.now(), watch.bounds);
      sendJson(response, verdict.httpStatus, {
        status: verdict.status,
        problems: verdict.problems,
        warnings: verdict.warnings,
        uptimeSeconds: health.uptimeSeconds,
        targets: summarise(source.statuses()),
        scheduler: { jobs: health.scheduler.jobs, running: health.scheduler.running, queued: health.scheduler.queued, stuck: health.scheduler.stuck, lastLagMs: health.scheduler.lastLagMs },
        outbox: { pending: health.outbox.pending, oldestPendingAgeMs: health.outbox.oldestPendingAgeMs },
        stateStore: { failing: health.state.failing, ...(health.state.lastError === undefined ? {} : { lastError: health.state.lastError }) },
      });
    },
    '/readyz': (_request, response) => {
      const ok = source.health().ok;
      sendJson(response, ok ? 200 : 503, { status: ok ? 'ready' : 'stopping' });
    },
  };
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 100) / 10}s`;
}

function sum(counts: Record<string, number>): number {
  let total = 0;
  for (const count of Object.values(counts)) total += count;
  return total;
}
