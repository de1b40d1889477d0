import { targetAddress } from './config/address.js';
import { formatDuration } from './config/durations.js';
import type { Target } from './config/schema.js';

/** `probebot check`: one row per target with the settings it really runs with. */
export function formatTargetTable(targets: readonly Target[]): string {
  const header = ['NAME', 'TYPE', 'ADDRESS', 'EVERY', 'RETRY', 'TIMEOUT', 'FAIL/OK', 'FLAP', 'NOTIFY'];
  const rows = targets.map((target) => [
    target.name,
    target.type,
    targetAddress(target),
    target.schedule ? `cron ${target.schedule}${target.timezone === undefined ? '' : ` ${target.timezone}`}` : formatDuration(target.interval),
    formatDuration(target.retryInterval),
    formatDuration(target.timeout),
    `${target.failureThreshold}/${target.successThreshold}`,
    `${target.flap.window}:${target.flap.low}-${target.flap.high}%`,
    target.notify.join(',') || '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
