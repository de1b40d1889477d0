import { targetAddress } from '../config/address.js';
import type { Target } from '../config/schema.js';
import type { ProbeResult } from './types.js';

/** One line for people: "ok api http://… 12.3ms (connect 0.4ms, firstByte 11.2ms)". */
export function formatProbeResult(target: Target, result: ProbeResult): string {
  const phases = Object.entries(result.phases ?? {})
    .filter(([, ms]) => typeof ms === 'number')
    .map(([phase, ms]) => `${phase} ${formatMs(ms)}`);
  const timing = `${formatMs(result.latencyMs)}${phases.length > 0 ? ` (${phases.join(', ')})` : ''}`;
  const head = `${result.ok ? 'ok' : 'FAIL'} ${target.name === 'adhoc' ? '' : `${target.name} `}${target.type} ${targetAddress(target)}`;
  return result.ok ? `${head} ${timing}` : `${head}: ${result.error ?? 'failed'} after ${timing}`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)}ms` : `${ms.toFixed(1)}ms`;
}
