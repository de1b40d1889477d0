import { Cron } from 'croner';

/** Why a cron expression is unusable, in one line, or undefined when croner accepts it. */
export function checkSchedule(pattern: string, timezone?: string): string | undefined {
  try {
    new Cron(pattern, cronOptions(timezone));
    return undefined;
  } catch (error) {
    return `invalid schedule "${pattern}": ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Whether `timezone` is an IANA zone this runtime knows ("Europe/Paris", "UTC"). */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** croner's options for a calendar in `timezone`, or in local time when it is unset. */
export function cronOptions(timezone: string | undefined): { timezone: string } | undefined {
  return timezone === undefined ? undefined : { timezone };
}

/**
 * Cron patterns used as pure calendars (croner never starts a timer here), one per distinct
 * pattern and zone, shared by every job using it: a croner 11 instance holds ~90 KiB of tables.
 */
export class CronCalendars {
  private readonly byPattern = new Map<string, { cron: Cron; users: number }>();

  /** Throws with a one-line message when the pattern is invalid. */
  acquire(pattern: string, timezone?: string): Cron {
    const key = calendarKey(pattern, timezone);
    const entry = this.byPattern.get(key);
    if (entry) {
      entry.users++;
      return entry.cron;
    }
    const problem = checkSchedule(pattern, timezone);
    if (problem !== undefined) throw new Error(problem);
    const cron = new Cron(pattern, cronOptions(timezone));
    this.byPattern.set(key, { cron, users: 1 });
    return cron;
  }

  release(pattern: string, timezone?: string): void {
    const key = calendarKey(pattern, timezone);
    const entry = this.byPattern.get(key);
    if (entry && --entry.users === 0) this.byPattern.delete(key);
  }

  clear(): void {
    this.byPattern.clear();
  }
}

function calendarKey(pattern: string, timezone: string | undefined): string {
  return timezone === undefined ? pattern : `${pattern}\u0000${timezone}`;
}

/** The first run of the pattern strictly after `after` (ms since the epoch), or NaN when none is left. */
export function nextCronRun(cron: Cron, after: number): number {
  return cron.nextRun(new Date(after))?.getTime() ?? Number.NaN;
}
