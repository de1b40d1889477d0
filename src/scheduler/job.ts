import type { Cron } from 'croner';
import type { TimerHandle } from '../clock.js';
import type { JobSpec, RunOutcome } from './types.js';

/** What a job's timers and its run call back into: the scheduler. */
export interface JobCallbacks {
  onTick(job: Job): void;
  onRunTimer(job: Job): void;
  onRunDone(job: Job, outcome: RunOutcome | void): void;
  onRunFailed(job: Job, error: unknown): void;
}

/** One job's state. Its callbacks are made once, so a tick allocates little beyond its run. */
export class Job {
  /** When the next tick is due; NaN when a cron schedule has no run left. */
  dueAt = Number.NaN;
  tickTimer: TimerHandle | undefined = undefined;
  /** The tick timer was capped at the platform's longest delay, so waking from it is not the tick yet. */
  tickCapped = false;
  /** Scheduled time of the run waiting for a slot; NaN when none waits. */
  queuedFor = Number.NaN;
  /** Set while a run is in flight. */
  controller: AbortController | undefined = undefined;
  /**
   * The last run's controller, kept for the next run when that run ended without aborting it and
   * left no listener on its signal. Node 20 builds each AbortSignal in a way that outlives young
   * garbage collections, so a fresh one per run made every probe's GC pauses longer.
   */
  spareController: AbortController | undefined = undefined;
  /** When the in-flight run started (clock ms). */
  runStartedAt = Number.NaN;
  /** The in-flight run's deadline, then, once it is aborted, its settle grace. */
  runTimer: TimerHandle | undefined = undefined;
  holdsSlot = false;
  /** remove() callers waiting for the in-flight run to let go. */
  releaseWaiters: (() => void)[] | undefined = undefined;
  readonly onTick: () => void;
  readonly onRunTimer: () => void;
  readonly onRunDone: (outcome: RunOutcome | void) => void;
  readonly onRunFailed: (error: unknown) => void;

  constructor(
    readonly spec: JobSpec,
    readonly phase: number,
    readonly cron: Cron | undefined,
    private readonly callbacks: JobCallbacks,
  ) {
    // Methods bound here rather than arrows: under tsx (keepNames) an arrow gets its own `name`
    // property, and binding a function that has one takes a slow path; either took a job from
    // ~0.5 to ~1.7 KiB.
    this.onTick = this.fireTick.bind(this);
    this.onRunTimer = this.fireRunTimer.bind(this);
    this.onRunDone = this.settleRun.bind(this);
    this.onRunFailed = this.failRun.bind(this);
  }

  private fireTick(): void {
    this.callbacks.onTick(this);
  }

  private fireRunTimer(): void {
    this.callbacks.onRunTimer(this);
  }

  private settleRun(outcome: RunOutcome | void): void {
    this.callbacks.onRunDone(this, outcome);
  }

  private failRun(error: unknown): void {
    this.callbacks.onRunFailed(this, error);
  }
}
