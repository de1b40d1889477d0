import type { Cron } from 'croner';
import { getEventListeners } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { deadlineReason } from '../probes/types.js';
import { CronCalendars, nextCronRun } from './cron.js';
import { nextGridPoint, phaseOffset } from './phase.js';
import { Job, type JobCallbacks } from './job.js';
import { Limiter } from './limiter.js';
import type { JobSpec, RunOutcome, SchedulerOptions, SchedulerStats, SkipReason } from './types.js';

/** setTimeout's largest delay; a longer wait (a yearly cron) is taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;
/** A timer waking this much before its tick woke early; further back, the wall clock stepped back. */
const EARLY_WAKE_MS = 1000;

/**
 * Node dates a timer from the event loop's cached time, so one set late in a busy moment fires
 * that much early by the wall clock: a tick would start its probe before its time, a deadline
 * would cut the timeout short, and both would bunch with the timers set in the same moment.
 */
function wokeEarly(now: number, due: number): boolean {
  return now < due && due - now < EARLY_WAKE_MS;
}

/** An unaborted signal that its run left without listeners: the next run may have it. */
function reusable(signal: AbortSignal): boolean {
  return !signal.aborted && getEventListeners(signal, 'abort').length === 0;
}

/**
 * Runs one job per target: interval jobs on a drift-free grid spread by a per-name phase, cron jobs
 * on croner's calendar. A slow or hung run only ever delays its own job: a tick that finds its
 * previous run still going is skipped, and runs beyond `maxConcurrent` wait in a FIFO queue.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly abortGraceMs: number;
  private readonly options: SchedulerOptions;
  private readonly jobs = new Map<string, Job>();
  private readonly limiter: Limiter<Job>;
  private readonly calendars = new CronCalendars();
  private readonly callbacks: JobCallbacks = {
    onTick: (job) => this.tick(job),
    onRunTimer: (job) => this.runTimerFired(job),
    onRunDone: (job, outcome) => this.finish(job, outcome),
    onRunFailed: (job, error) => {
      this.logger.warn({ target: job.spec.name, err: error }, 'scheduled run threw instead of resolving with a failed result');
      this.finish(job, undefined);
    },
  };
  private stopping: Promise<void> | undefined;
  private inFlight = 0;
  private stuck = 0;
  private skippedOverrun = 0;
  private skippedConcurrency = 0;
  private lastLagMs = 0;

  constructor(options: SchedulerOptions) {
    if (!(options.maxConcurrent >= 1)) throw new RangeError(`maxConcurrent must be at least 1, got ${options.maxConcurrent}`);
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.limiter = new Limiter(options.maxConcurrent, (job) => !Number.isNaN(job.queuedFor));
    this.abortGraceMs = options.abortGraceMs ?? 1000;
  }

  /** Starts scheduling at once; the first run is the job's next tick. Throws on a bad spec or a taken name. */
  add(spec: JobSpec): void {
    const name = spec.name;
    if (this.stopping) throw new Error(`cannot schedule "${name}": the scheduler is stopped`);
    if (this.jobs.has(name)) throw new Error(`"${name}" is already scheduled`);
    if (!(spec.timeoutMs > 0)) throw new RangeError(`"${name}": timeout must be positive, got ${spec.timeoutMs}`);
    let cron: Cron | undefined;
    if (spec.schedule !== undefined) {
      try {
        cron = this.calendars.acquire(spec.schedule, spec.timezone);
      } catch (error) {
        throw new Error(`"${name}": ${(error as Error).message}`, { cause: error });
      }
    } else if (!(spec.intervalMs > 0 && Number.isFinite(spec.intervalMs))) {
      throw new RangeError(`"${name}": interval must be positive, got ${spec.intervalMs}`);
    }
    const job = new Job(spec, cron ? 0 : phaseOffset(name, spec.intervalMs, spec.phaseStepMs), cron, this.callbacks);
    this.jobs.set(name, job);
    this.planNext(job);
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  /** Stops the job and aborts its in-flight run; resolves when that run settled (or was given up as stuck). */
  async remove(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) return;
    this.jobs.delete(name);
    this.retire(job);
    this.abortRun(job, new DOMException(`"${name}" was removed`, 'AbortError'));
    await this.whenReleased(job);
  }

  /**
   * No new runs from now on; waits up to graceMs for in-flight runs to finish, aborts the rest
   * (AbortError, not TimeoutError) and resolves once they settled. Leaves no timer behind.
   */
  stop(graceMs = 0): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  stats(): SchedulerStats {
    return {
      jobs: this.jobs.size,
      running: this.inFlight,
      queued: this.limiter.waiting,
      skippedOverrun: this.skippedOverrun,
      skippedConcurrency: this.skippedConcurrency,
      stuck: this.stuck,
      lastLagMs: this.lastLagMs,
    };
  }

  private async shutdown(graceMs: number): Promise<void> {
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) this.retire(job);
    this.limiter.clear();
    if (graceMs > 0 && this.limiter.inUse > 0) await this.whenIdleOrAfter(graceMs);
    const reason = new DOMException('scheduler stopped', 'AbortError');
    for (const job of jobs) this.abortRun(job, reason);
    await this.limiter.whenIdle();
  }

  /**
   * Plans the tick after now: the next grid point, or the next cron run. A tick never calls this
   * before its time (an early wake re-arms instead), so the tick that is firing is not planned
   * again; after a wall clock step back, planning from now keeps the job going.
   */
  private planNext(job: Job): void {
    const now = this.clock.now();
    const next = this.nextTick(job, now);
    job.dueAt = next;
    if (Number.isNaN(next)) this.logger.info({ target: job.spec.name }, 'schedule has no future run');
    else this.arm(job, now);
  }

  private nextTick(job: Job, after: number): number {
    return job.cron ? nextCronRun(job.cron, after) : nextGridPoint(after, job.spec.intervalMs, job.phase);
  }

  private arm(job: Job, now: number): void {
    const delay = Math.max(0, job.dueAt - now);
    job.tickCapped = delay > MAX_TIMER_MS;
    job.tickTimer = this.clock.setTimeout(job.onTick, Math.min(delay, MAX_TIMER_MS));
  }

  private tick(job: Job): void {
    job.tickTimer = undefined;
    const now = this.clock.now();
    if (job.tickCapped || wokeEarly(now, job.dueAt)) return this.arm(job, now);
    const scheduledAt = job.dueAt;
    this.planNext(job);
    if (job.controller) return this.skip('overrun', job);
    if (!Number.isNaN(job.queuedFor)) return this.skip('concurrency', job);
    if (this.limiter.hasFreeSlot) return this.start(job, scheduledAt);
    job.queuedFor = scheduledAt;
    this.limiter.enqueue(job);
  }

  private skip(reason: SkipReason, job: Job): void {
    if (reason === 'overrun') this.skippedOverrun++;
    else this.skippedConcurrency++;
    this.options.onSkip?.(reason, job.spec.name);
  }

  private start(job: Job, scheduledAt: number): void {
    const now = this.clock.now();
    const lag = now - scheduledAt;
    this.lastLagMs = lag;
    this.options.onLag?.(lag, job.spec.name);
    const controller = job.spareController ?? new AbortController();
    job.spareController = undefined;
    job.controller = controller;
    job.holdsSlot = true;
    this.limiter.take();
    this.inFlight++;
    job.runStartedAt = now;
    job.runTimer = this.clock.setTimeout(job.onRunTimer, job.spec.timeoutMs);
    let running: Promise<RunOutcome | void>;
    try {
      running = Promise.resolve(job.spec.run(controller.signal, scheduledAt));
    } catch (error) {
      running = Promise.reject(error);
    }
    // Both handlers end in finish(), so the run always gets its bookkeeping and never floats.
    void running.then(job.onRunDone, job.onRunFailed);
  }

  private finish(job: Job, outcome: RunOutcome | void): void {
    if (job.runTimer) this.clock.clearTimeout(job.runTimer);
    job.runTimer = undefined;
    const controller = job.controller;
    job.controller = undefined;
    if (controller && reusable(controller.signal)) job.spareController = controller;
    this.inFlight--;
    if (job.holdsSlot) {
      this.giveSlotBack(job);
    } else {
      this.stuck--;
    }
    const retryInMs = outcome ? outcome.nextRunInMs : undefined;
    if (retryInMs !== undefined && this.jobs.get(job.spec.name) === job) this.retryEarly(job, retryInMs);
    this.drain();
  }

  /** Brings the next run forward when the run asked for it sooner than its next tick. */
  private retryEarly(job: Job, inMs: number): void {
    if (!Number.isFinite(inMs)) return;
    const now = this.clock.now();
    const at = now + Math.max(0, inMs);
    if (at >= job.dueAt) return;
    if (job.tickTimer) this.clock.clearTimeout(job.tickTimer);
    job.dueAt = at;
    this.arm(job, now);
  }

  /** Starts waiting runs while slots are free; stop() empties the queue first. */
  private drain(): void {
    for (let job = this.limiter.next(); job; job = this.limiter.next()) {
      const scheduledAt = job.queuedFor;
      job.queuedFor = Number.NaN;
      this.start(job, scheduledAt);
    }
  }

  /** First the deadline, then, if the run ignores its abort, the end of its grace. */
  private runTimerFired(job: Job): void {
    job.runTimer = undefined;
    const controller = job.controller;
    if (!controller) return;
    if (!controller.signal.aborted) {
      const deadline = job.runStartedAt + job.spec.timeoutMs;
      const now = this.clock.now();
      if (wokeEarly(now, deadline)) job.runTimer = this.clock.setTimeout(job.onRunTimer, deadline - now);
      else this.abortRun(job, deadlineReason(job.spec.timeoutMs));
      return;
    }
    if (!job.holdsSlot) return;
    this.logger.warn({ target: job.spec.name, graceMs: this.abortGraceMs }, 'run ignores its abort; giving its concurrency slot back');
    this.stuck++;
    this.giveSlotBack(job);
    this.drain();
  }

  private abortRun(job: Job, reason: DOMException): void {
    const controller = job.controller;
    if (!controller || controller.signal.aborted) return;
    if (job.runTimer) this.clock.clearTimeout(job.runTimer);
    job.runTimer = this.clock.setTimeout(job.onRunTimer, this.abortGraceMs);
    controller.abort(reason);
  }

  /** Takes the job off every timer and the queue; its in-flight run is left to the caller. */
  private retire(job: Job): void {
    if (job.tickTimer) this.clock.clearTimeout(job.tickTimer);
    job.tickTimer = undefined;
    job.dueAt = Number.NaN;
    if (!Number.isNaN(job.queuedFor)) {
      job.queuedFor = Number.NaN; // its queue entry is passed over when reached
      this.limiter.leave();
    }
    if (job.spec.schedule !== undefined) this.calendars.release(job.spec.schedule, job.spec.timezone);
  }

  private giveSlotBack(job: Job): void {
    job.holdsSlot = false;
    this.limiter.give();
    const waiters = job.releaseWaiters;
    job.releaseWaiters = undefined;
    if (waiters) for (const resolve of waiters) resolve();
  }

  private whenReleased(job: Job): Promise<void> {
    if (!job.holdsSlot) return Promise.resolve();
    return new Promise((resolve) => (job.releaseWaiters ??= []).push(resolve));
  }

  private async whenIdleOrAfter(ms: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const elapsed = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, ms)));
    await Promise.race([this.limiter.whenIdle(), elapsed]);
    if (timer) this.clock.clearTimeout(timer);
  }
}
