import { Cron } from 'croner';

/** Why a cron expression is unusable, in one line, or undefined when croner accepts it. */
export function checkSchedule(pattern: string): string | undefined {
  try {
    new Cron(pattern);
    return undefined;
  } catch (error) {
    return `invalid schedule "${pattern}": ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Cron patterns used as pure calendars (croner never starts a timer here), one per distinct
 * pattern and shared by every job using it: a croner 11 instance holds ~90 KiB of tables.
 */
export class CronCalendars {
  private readonly byPattern = new Map<string, { cron: Cron; users: number }>();

  /** Throws with a one-line message when the pattern is invalid. */
  acquire(pattern: string): Cron {
    const entry = this.byPattern.get(pattern);
    if (entry) {
      entry.users++;
      return entry.cron;
    }
    const problem = checkSchedule(pattern);
    if (problem !== undefined) throw new Error(problem);
    const cron = new Cron(pattern);
    this.byPattern.set(pattern, { cron, users: 1 });
    return cron;
  }

  release(pattern: string): void {
    const entry = this.byPattern.get(pattern);
    if (entry && --entry.users === 0) this.byPattern.delete(pattern);
  }

  clear(): void {
    this.byPattern.clear();
  }
}

/** The first run of the pattern strictly after `after` (ms since the epoch), or NaN when none is left. */
export function nextCronRun(cron: Cron, after: number): number {
  return cron.nextRun(new Date(after))?.getTime() ?? Number.NaN;
}
