export { Scheduler } from './scheduler.js';
export { phaseOffset } from './phase.js';
export { checkSchedule } from './cron.js';
export type { JobSpec, RunOutcome, SchedulerOptions, SchedulerStats, SkipReason } from './types.js';
