/** The healthy TCP targets of the scale runs: names, config entries, and their grid for grading. */
import type { ConfigObject } from './config.js';
import type { TcpFleet } from './fleet.js';
import type { GridTarget } from './grid.js';

export function fleetTargetName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

export function fleetTargets(fleet: TcpFleet, count: number, intervalMs: number): { config: ConfigObject[]; graded: GridTarget[] } {
  const config: ConfigObject[] = [];
  const graded: GridTarget[] = [];
  for (let index = 0; index < count; index++) {
    const name = fleetTargetName(index);
    config.push({ name, type: 'tcp', host: fleet.host(index), port: fleet.port });
    graded.push({ index, name, intervalMs });
  }
  return { config, graded };
}
