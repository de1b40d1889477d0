/**
 * One measured run of the bot at a steady load: start it on a config, let it settle, then over a
 * window read its CPU (children included) and RSS from /proc, the connections its probes made
 * (matched to the schedule), and its /metrics lag histogram when it has one.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BotProcess } from './bot.js';
import { writeConfig, type BotConfig } from './config.js';
import { scratchDir, type BenchContext } from './context.js';
import type { TcpFleet } from './fleet.js';
import { matchArrivals, type GridReport, type GridTarget } from './grid.js';
import { kernelThreadsBetween, loadAverage, readKernelThreadsCpu } from './machine.js';
import { gcDelta, histogramDelta, histogramQuantile, scrapeMetrics } from './metrics.js';
import { CLOCK_TICKS, cpuBetween, ProcSampler } from './proc.js';
import { summarise } from './stats.js';

export interface SteadyRunOptions {
  label: string;
  config: Omit<BotConfig, 'stateDir'>;
  /** Targets whose connections are matched against the grid (healthy TCP targets on the fleet). */
  graded: GridTarget[];
  fleet: TcpFleet;
  warmupMs: number;
  windowMs: number;
  /** How long after the window arrivals are still collected (default 1.5 s). */
  tailMs?: number;
  /** Probes counted some other way (HTTP requests served, ICMP echoes), read at both ends of the window. */
  counter?: () => Promise<number>;
  cpuProfileDir?: string;
}

export interface SteadyRunResult {
  label: string;
  targets: number;
  startupMs: number;
  cpuCores: number;
  cpuSeconds: number;
  childCpuSeconds: number;
  /** Highest RSS sampled in the window. */
  rssBytes: number;
  /** VmHWM: the highest since the process started (config parsing included). */
  peakRssBytes: number;
  scheduled: number;
  executed: number;
  executedShare: number;
  /** What `counter` counted in the window. */
  counted: number | undefined;
  duplicates: number;
  targetsMissingTicks: number;
  missingExamples: string[];
  /** Arrival minus scheduled time, at the listener, ms. */
  arrivalLag: { count: number; p50: number; p99: number; max: number };
  /** The same figures over the warm-up, from "probebot started" to the window. */
  warmup: { executedShare: number; targetsMissingTicks: number; arrivalLag: { count: number; p50: number; p99: number; max: number } };
  /** From the bot's own histogram, ms; undefined without /metrics. */
  metricsLag: { count: number; p50: number; p99: number } | undefined;
  skippedByMetrics: number | undefined;
  /** From /metrics: the scrape opening the window (ms, bytes), GC pauses in the window, the longest event-loop delay. */
  scrape: { ms: number; bytes: number } | undefined;
  gc: Record<string, { seconds: number; count: number }> | undefined;
  eventLoopMaxMs: number | undefined;
  loadAverage: { start: number[]; end: number[] };
  /** Cores the kernel's own threads used in the window (machine noise the bot's figures carry). */
  kernelThreads: ReturnType<typeof kernelThreadsBetween>;
  /** /healthz half-way through the window: jobs, probes running, probes queued. */
  midWindowHealth: unknown;
  /** Warnings and errors the bot logged, with the first few messages. */
  problems: { count: number; first: string[] };
  exit: { code: number | null; signal: string | null; killed: boolean };
}

/** Arrivals this late still count for the window's last ticks. */
const TAIL_MS = 1_500;

export async function steadyRun(context: BenchContext, options: SteadyRunOptions): Promise<SteadyRunResult> {
  const dir = await scratchDir(context, options.label.replace(/[^a-z0-9]+/gi, '-'));
  const configPath = await writeConfig(dir, { ...options.config, stateDir: join(dir, 'state') });
  await options.fleet.arrivals(true);
  const loadStart = loadAverage();
  const botOptions = { cliPath: context.cliPath, configPath, logPath: join(dir, 'bot.log'), cwd: dir };
  const bot = await BotProcess.start(options.cpuProfileDir ? { ...botOptions, cpuProfileDir: options.cpuProfileDir } : botOptions);
  const sampler = new ProcSampler(bot.pid, 500).start();
  let exit: SteadyRunResult['exit'] = { code: null, signal: null, killed: false };
  try {
    const from = Math.max(Date.now(), bot.readyAt) + options.warmupMs;
    const to = from + options.windowMs;
    await sleep(from - Date.now());
    // A scrape costs the bot CPU: taken just outside the CPU window, at both ends.
    const metricsBefore = await scrapeMetrics(bot.port);
    const countBefore = await options.counter?.();
    const kernelBefore = readKernelThreadsCpu();
    const first = sampler.take();
    await sleep(Math.max(0, from + options.windowMs / 2 - Date.now()));
    const midWindowHealth = await fetch(`http://127.0.0.1:${bot.port}/healthz`, { signal: AbortSignal.timeout(5_000) })
      .then((response) => response.json(), (error: unknown) => ({ error: String(error) }));
    await sleep(Math.max(0, to - Date.now()));
    const last = sampler.take();
    const kernelAfter = readKernelThreadsCpu();
    const countAfter = await options.counter?.();
    const metricsAfter = await scrapeMetrics(bot.port);
    await sleep(options.tailMs ?? TAIL_MS);
    const arrivals = await options.fleet.arrivals(true);
    const grid = matchArrivals(options.graded, arrivals, { from, to });
    const warmupGrid = gridFigures(matchArrivals(options.graded, arrivals, { from: bot.readyAt, to: from }));
    const cpu = cpuBetween(first, last);
    const lines = await bot.logLines();
    exit = await bot.stop();
    const problems = lines.filter((line) => line.level >= 40);
    return {
      label: options.label,
      targets: options.config.targets.length,
      startupMs: bot.readyAt - bot.spawnedAt,
      cpuCores: cpu.cores,
      cpuSeconds: cpu.seconds,
      childCpuSeconds: cpu.childSeconds,
      rssBytes: sampler.maxRssBetween(first.at, last.at),
      peakRssBytes: last.peakRssBytes,
      ...gridFigures(grid),
      warmup: { executedShare: warmupGrid.executedShare, targetsMissingTicks: warmupGrid.targetsMissingTicks, arrivalLag: warmupGrid.arrivalLag },
      counted: countBefore === undefined || countAfter === undefined ? undefined : countAfter - countBefore,
      metricsLag: metricsLagOf(metricsBefore?.lag, metricsAfter?.lag),
      skippedByMetrics: metricsBefore && metricsAfter ? metricsAfter.skipped - metricsBefore.skipped : undefined,
      scrape: metricsBefore ? { ms: metricsBefore.scrapeMs, bytes: metricsBefore.bytes } : undefined,
      gc: metricsBefore && metricsAfter ? gcDelta(metricsBefore.gc, metricsAfter.gc) : undefined,
      eventLoopMaxMs: metricsAfter?.eventLoopMaxSeconds === undefined ? undefined : metricsAfter.eventLoopMaxSeconds * 1000,
      loadAverage: { start: loadStart, end: loadAverage() },
      kernelThreads: kernelThreadsBetween(kernelBefore, kernelAfter, (last.at - first.at) / 1000, CLOCK_TICKS),
      midWindowHealth,
      problems: { count: problems.length, first: [...new Set(problems.map((line) => line.msg))].slice(0, 5) },
      exit,
    };
  } finally {
    sampler.stop();
    if (bot.running) await bot.stop();
  }
}

/** "kdamond 0.05, kworker 0.01 core": the busiest kinds of kernel thread in a run's window. */
export function busiestKernelThreads(run: SteadyRunResult): string {
  return run.kernelThreads.busiest.map(({ kind, cores }) => `${kind} ${cores.toFixed(3)}`).join(', ') + ' core';
}

function gridFigures(grid: GridReport) {
  return {
    scheduled: grid.scheduled,
    executed: grid.executed,
    executedShare: grid.scheduled === 0 ? Number.NaN : grid.executed / grid.scheduled,
    duplicates: grid.duplicates,
    targetsMissingTicks: grid.targetsMissingTicks,
    missingExamples: grid.examples,
    arrivalLag: summarise(grid.lagsMs),
  };
}

function metricsLagOf(before: Parameters<typeof histogramDelta>[0] | undefined, after: Parameters<typeof histogramDelta>[1] | undefined) {
  if (!before || !after) return undefined;
  const delta = histogramDelta(before, after);
  return { count: delta.count, p50: histogramQuantile(delta, 0.5) * 1000, p99: histogramQuantile(delta, 0.99) * 1000 };
}
