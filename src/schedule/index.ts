/**
 * schedule: when periodic backup tasks run next (issue 6). Owns the pure next-run math and
 * cron/time-zone validation; the scheduler that waits and starts runs injects its clock.
 */
export { nextRuns, validateCron, validateTimeZone } from './schedule.js';
export type { ScheduleTask, ScheduledRun, RunKind } from './schedule.js';
