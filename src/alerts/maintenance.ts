/**
 * Maintenance windows from the config: a cron schedule of window starts and a duration. Whether a
 * moment falls inside a window is computed from the schedule (the last start before it), so no
 * croner job runs: one pattern object per window, stopped on stop().
 */
import { Cron } from 'croner';
import type { Config, Target } from '../config/schema.js';
import { cronOptions } from '../scheduler/cron.js';
import { labelsMatch } from './routing.js';

export type MaintenanceWindow = Config['maintenance'][number];

/** Whether a window applies to a target: named in `targets`, or matching `match`; neither set means every target. */
export function windowCovers(window: MaintenanceWindow, target: Pick<Target, 'name' | 'labels'>): boolean {
  if (window.targets === undefined && window.match === undefined) return true;
  if (window.targets?.includes(target.name)) return true;
  return window.match !== undefined && labelsMatch(window.match, target.labels);
}

interface Scheduled {
  window: MaintenanceWindow;
  starts: Cron;
}

export class MaintenanceCalendar {
  private readonly scheduled: Scheduled[];
  /** Every event of a tick asks about the same moment: compute the open windows once for it. */
  private cached: { at: number; open: MaintenanceWindow[] } | undefined;

  private constructor(scheduled: Scheduled[]) {
    this.scheduled = scheduled;
  }

  /** Builds the calendar; a window whose schedule croner refuses is left out and reported. */
  static build(windows: readonly MaintenanceWindow[]): { calendar: MaintenanceCalendar; errors: string[] } {
    const scheduled: Scheduled[] = [];
    const errors: string[] = [];
    for (const window of windows) {
      try {
        scheduled.push({ window, starts: new Cron(window.schedule, cronOptions(window.timezone)) });
      } catch (error) {
        errors.push(`maintenance window "${window.name}": schedule "${window.schedule}" is not a cron expression (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    return { calendar: new MaintenanceCalendar(scheduled), errors };
  }

  /** The windows open at `now`. */
  openWindows(now: number): MaintenanceWindow[] {
    if (this.cached?.at !== now) {
      this.cached = { at: now, open: this.scheduled.filter((entry) => this.currentStart(entry, now) !== undefined).map((entry) => entry.window) };
    }
    return this.cached.open;
  }

  /** The name of an open window covering the target, if any. */
  windowFor(target: Pick<Target, 'name' | 'labels'>, now: number): string | undefined {
    return this.openWindows(now).find((window) => windowCovers(window, target))?.name;
  }

  /** The next moment after `now` when some window opens or closes. */
  nextBoundary(now: number): number | undefined {
    let soonest: number | undefined;
    for (const entry of this.scheduled) {
      const start = this.currentStart(entry, now);
      const next = start !== undefined ? start + entry.window.duration : entry.starts.nextRun(new Date(now))?.getTime();
      if (next !== undefined && (soonest === undefined || next < soonest)) soonest = next;
    }
    return soonest;
  }

  stop(): void {
    for (const entry of this.scheduled) entry.starts.stop();
  }

  /** The start of the window containing `now` (a start exactly at `now` counts). */
  private currentStart(entry: Scheduled, now: number): number | undefined {
    const start = entry.starts.previousRuns(1, new Date(now + 1))[0]?.getTime();
    return start !== undefined && now < start + entry.window.duration ? start : undefined;
  }
}
