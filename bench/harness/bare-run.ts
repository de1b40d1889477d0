/**
 * The same connects as the bot's, on the same grid, from a bare Node loop (servers/bare-connector.ts):
 * its CPU is what the probes themselves cost, and its arrival lag is the noise floor of the
 * listener-side measurement on this machine right now.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BareConnectorApi } from '../servers/bare-connector.js';
import type { TcpFleet } from './fleet.js';
import { fleetTargets } from './fleet-targets.js';
import { matchArrivals } from './grid.js';
import { Helper } from './helper.js';
import { cpuBetween, ProcSampler } from './proc.js';
import { summarise } from './stats.js';

export interface BareRunResult {
  cpuCores: number;
  rssBytes: number;
  executedShare: number;
  arrivalLag: ReturnType<typeof summarise>;
}

export async function bareRun(fleet: TcpFleet, count: number, intervalMs: number, warmupMs: number, windowMs: number): Promise<BareRunResult> {
  const helper = await Helper.start<BareConnectorApi>('bare-connector.ts', 'bare-connector');
  const sampler = new ProcSampler(helper.pid, 500);
  try {
    const { config, graded } = fleetTargets(fleet, count, intervalMs);
    await fleet.arrivals(true);
    await helper.call('start', { targets: config.map((target) => ({ name: String(target.name), host: String(target.host), port: fleet.port })), intervalMs });
    sampler.start();
    const from = Date.now() + warmupMs;
    const to = from + windowMs;
    await sleep(from - Date.now());
    const first = sampler.take();
    await sleep(Math.max(0, to - Date.now()));
    const last = sampler.take();
    await sleep(1_500);
    await helper.call('stop', {} as never);
    const grid = matchArrivals(graded, await fleet.arrivals(true), { from, to });
    return {
      cpuCores: cpuBetween(first, last).cores,
      rssBytes: sampler.maxRssBetween(first.at, last.at),
      executedShare: grid.executed / grid.scheduled,
      arrivalLag: summarise(grid.lagsMs),
    };
  } finally {
    sampler.stop();
    await helper.stop();
  }
}
