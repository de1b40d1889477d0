import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/** What a run may ask for: an earlier next run (the retryInterval while failing below threshold). */
export interface RunOutcome {
  nextRunInMs?: number;
}

/** One scheduled job, usually one target. */
export interface JobSpec {
  /** The target name; unique within a scheduler, and the source of the job's phase. */
  name: string;
  /** Period of the run grid; used when `schedule` is unset. */
  intervalMs: number;
  /** Cron expression (croner syntax) instead of the interval grid. */
  schedule?: string;
  /** IANA zone `schedule` is read in; the process's local time when unset. */
  timezone?: string;
  /**
   * Phases are rounded down to a multiple of this (default 1 ms): jobs that batch well together,
   * like ICMP echoes sent by one fping, then start in the same moment.
   */
  phaseStepMs?: number;
  /** Hard deadline of one run, counted from its actual start. */
  timeoutMs: number;
  /**
   * One run. The signal aborts at the deadline (reason: deadlineReason(timeoutMs), a TimeoutError)
   * or at remove/stop (an AbortError). `scheduledAt` is the tick the run belongs to.
   */
  run(signal: AbortSignal, scheduledAt: number): Promise<RunOutcome | void>;
}

export type SkipReason = 'overrun' | 'concurrency';

export interface SchedulerOptions {
  clock?: Clock;
  /** Runs in flight at once; more wait in a FIFO queue. */
  maxConcurrent: number;
  logger?: Logger;
  /** Actual start minus scheduled time, for every run started. */
  onLag?(lagMs: number, job: string): void;
  onSkip?(reason: SkipReason, job: string): void;
  /**
   * How long an aborted run may take to settle before it is counted as stuck and gives its
   * concurrency slot back (it still blocks its own job). Default 1000 ms.
   */
  abortGraceMs?: number;
}

export interface SchedulerStats {
  jobs: number;
  /** Runs in flight, stuck ones included. */
  running: number;
  /** Runs waiting for a concurrency slot. */
  queued: number;
  skippedOverrun: number;
  skippedConcurrency: number;
  /** Runs that ignored their abort for longer than abortGraceMs and have not settled since. */
  stuck: number;
  lastLagMs: number;
}
