/**
 * Scenario 1, scale: 10,000 TCP targets at a 10 s interval (1,000 probes/s) for 60 s, with state
 * persistence and the log notifier on, log level info. Probes executed are counted at the
 * listeners (one loopback address per target) and matched to each target's grid; start lag comes
 * from the bot's /metrics histogram when it has one, and from arrival times otherwise. Then the
 * same at 1k, 5k, 20k and 50k targets, to see how cost grows and where it stops.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bareRun } from '../harness/bare-run.js';
import { TcpFleet } from '../harness/fleet.js';
import { fleetTargets } from '../harness/fleet-targets.js';
import { profiledRun } from '../harness/profiled-run.js';
import type { Reporter } from '../harness/reporter.js';
import { atLeast, below, formatValue } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { median } from '../harness/stats.js';
import { busiestKernelThreads, steadyRun, type SteadyRunOptions, type SteadyRunResult } from '../harness/steady-run.js';
import { lineChart } from '../harness/svg.js';

const MiB = 2 ** 20;

interface Plan {
  barSize: number;
  otherSizes: number[];
  intervalMs: number;
  warmupMs: number;
  barWindowMs: number;
  otherWindowMs: number;
  tailMs: number;
}

const FULL: Plan = { barSize: 10_000, otherSizes: [1_000, 5_000, 20_000, 50_000], intervalMs: 10_000, warmupMs: 5_000, barWindowMs: 60_000, otherWindowMs: 30_000, tailMs: 1_500 };
const QUICK: Plan = { barSize: 1_000, otherSizes: [], intervalMs: 2_000, warmupMs: 1_000, barWindowMs: 3_000, otherWindowMs: 3_000, tailMs: 500 };

export const BARS = {
  executedPercent: atLeast(99.9, '%'),
  lagP99Ms: below(50, 'ms'),
  rssMiB: below(250, 'MiB'),
  cpuCores: below(0.5, 'core'),
};

export const scale: Scenario = {
  name: 'scale',
  title: '10,000 TCP targets at 10 s: executed probes, start lag, RSS, CPU; growth 1k-50k',
  async run(context, report) {
    const plan = context.quick ? QUICK : FULL;
    const order = runOrder(plan, context.repeat);
    report.detail('plan', plan);
    const fleet = await TcpFleet.start(Math.max(...order));
    try {
      const results: SteadyRunResult[] = [];
      for (const size of order) {
        context.log(`scale: ${size} targets at ${plan.intervalMs / 1000} s for ${windowFor(plan, size) / 1000} s`);
        results.push(await steadyRun(context, runOptions(fleet, plan, size)));
      }
      report.detail('runs', results);
      reportBars(report, results.filter((result) => result.targets === plan.barSize), plan);
      if (context.quick) report.note('quick: no bare-loop reference and no growth curve beyond this size');
      else {
        context.log('scale: the bare connect loop, for reference');
        const bare = await bareRun(fleet, plan.barSize, plan.intervalMs, plan.warmupMs, 30_000);
        report.detail('bareLoop', bare);
        const botCpu = median(results.filter((result) => result.targets === plan.barSize).map((result) => result.cpuCores));
        report.row({ figure: 'bare Node connect loop CPU (same grid)', unit: 'core', runs: [bare.cpuCores], note: `its arrival lag p99 ${formatValue(bare.arrivalLag.p99)} ms: the measurement's floor` });
        report.row({ figure: 'bot CPU / bare connect loop CPU', unit: '×', runs: [botCpu / bare.cpuCores] });
      }
      reportGrowth(report, results, plan);
      await writeFile(join(context.resultsDir, 'scale.svg'), growthChart(results, plan));
      report.note(`plot: ${join(context.resultsDir, 'scale.svg')}`);
      if (report.failed.length > 0 && !context.quick) await profiledRun(context, report, { ...runOptions(fleet, plan, plan.barSize), windowMs: 30_000 });
    } finally {
      await fleet.stop();
    }
  },
};

/** The bar size `repeat` times, the other sizes once, interleaved so drifting machine load hits all. */
function runOrder(plan: Plan, repeat: number): number[] {
  const order: number[] = [];
  const others = [...plan.otherSizes];
  for (let i = 0; i < Math.max(repeat, 1); i++) {
    if (others.length > 0) order.push(others.shift()!);
    order.push(plan.barSize);
  }
  return [...order, ...others];
}

function windowFor(plan: Plan, size: number): number {
  return size === plan.barSize ? plan.barWindowMs : plan.otherWindowMs;
}

export function scaleConfig(targets: SteadyRunOptions['config']['targets'], intervalMs: number): SteadyRunOptions['config'] {
  // Concurrency cap well below `ulimit -n` (20,000 here): at 1,000 probes/s of ~1 ms, a few are in flight.
  return { maxConcurrentProbes: 4_096, defaults: { interval: `${intervalMs}ms`, timeout: '3s' }, targets };
}

function runOptions(fleet: TcpFleet, plan: Plan, size: number): SteadyRunOptions {
  const { config, graded } = fleetTargets(fleet, size, plan.intervalMs);
  return { label: `scale-${size}`, config: scaleConfig(config, plan.intervalMs), graded, fleet, warmupMs: plan.warmupMs, windowMs: windowFor(plan, size), tailMs: plan.tailMs };
}

/** The lag figure that carries the bar: the bot's own histogram when it has one. */
export function lagP99(result: SteadyRunResult): number {
  return result.metricsLag?.p99 ?? result.arrivalLag.p99;
}

function reportBars(report: Reporter, runs: SteadyRunResult[], plan: Plan): void {
  const at = `${formatCount(plan.barSize)} @ ${plan.intervalMs / 1000} s, ${plan.barWindowMs / 1000} s`;
  report.row({
    figure: `probes executed / scheduled (${at})`,
    unit: '%',
    runs: runs.map((run) => 100 * run.executedShare),
    bar: BARS.executedPercent,
    note: `${sum(runs.map((run) => run.executed))} of ${sum(runs.map((run) => run.scheduled))} over ${runs.length} runs`,
  });
  const withMetrics = runs.every((run) => run.metricsLag !== undefined);
  if (withMetrics) report.row({ figure: 'start lag p99 (bot /metrics histogram)', unit: 'ms', runs: runs.map((run) => run.metricsLag!.p99), bar: BARS.lagP99Ms });
  else report.skip('start lag p99 (bot /metrics histogram)', BARS.lagP99Ms, 'no probebot_scheduler_lag_seconds at /metrics: arrival lag carries the bar');
  const arrival = runs.map((run) => run.arrivalLag.p99);
  report.row({
    figure: 'probe arrival lag p99 (at the listener)',
    unit: 'ms',
    runs: arrival,
    ...(withMetrics ? {} : { bar: BARS.lagP99Ms }),
    note: `p50 ${formatValue(median(runs.map((run) => run.arrivalLag.p50)))} ms, max ${formatValue(Math.max(...runs.map((run) => run.arrivalLag.max)))} ms; includes connect and accept`,
  });
  report.row({ figure: 'bot RSS (highest in the window)', unit: 'MiB', runs: runs.map((run) => run.rssBytes / MiB), bar: BARS.rssMiB, note: `VmHWM ${formatValue(median(runs.map((run) => run.peakRssBytes / MiB)))} MiB` });
  report.row({ figure: 'bot CPU (process + children)', unit: 'core', runs: runs.map((run) => run.cpuCores), bar: BARS.cpuCores });
  report.row({ figure: "kernel threads' CPU in the window (not the bot's)", unit: 'core', runs: runs.map((run) => run.kernelThreads.cores), note: `busiest in the first run: ${busiestKernelThreads(runs[0]!)}` });
  if (withMetrics) {
    report.row({ figure: 'longest event-loop delay in the window', unit: 'ms', runs: runs.map((run) => run.eventLoopMaxMs ?? Number.NaN), note: 'nodejs_eventloop_lag_max_seconds' });
    report.row({ figure: 'GC pauses in the window', unit: 's', runs: runs.map((run) => totalGcSeconds(run)), note: `major: ${formatValue(median(runs.map((run) => run.gc?.major?.count ?? Number.NaN)))} pauses, ${formatValue(median(runs.map((run) => run.gc?.major?.seconds ?? Number.NaN)))} s` });
    report.row({ figure: 'one /metrics scrape (opens the window)', unit: 'ms', runs: runs.map((run) => run.scrape?.ms ?? Number.NaN), note: `${formatValue(median(runs.map((run) => (run.scrape?.bytes ?? Number.NaN) / MiB)))} MiB of text; its stall is inside the window, as Prometheus' would be` });
  }
  const problems = runs.flatMap((run) => run.problems.first);
  if (problems.length > 0) report.note(`the bot logged warnings: ${[...new Set(problems)].join('; ')}`);
}

interface SizeFigures {
  size: number;
  executedPercent: number;
  lagP99: number;
  arrivalP99: number;
  cpuCores: number;
  rssMiB: number;
  loopMaxMs: number;
  gcSeconds: number;
  scrapeMs: number;
}

function figuresBySize(results: SteadyRunResult[]): SizeFigures[] {
  const sizes = [...new Set(results.map((result) => result.targets))].sort((a, b) => a - b);
  return sizes.map((size) => {
    const runs = results.filter((result) => result.targets === size);
    return {
      size,
      executedPercent: median(runs.map((run) => 100 * run.executedShare)),
      lagP99: median(runs.map(lagP99)),
      arrivalP99: median(runs.map((run) => run.arrivalLag.p99)),
      cpuCores: median(runs.map((run) => run.cpuCores)),
      rssMiB: median(runs.map((run) => run.rssBytes / MiB)),
      loopMaxMs: median(runs.map((run) => run.eventLoopMaxMs ?? Number.NaN)),
      gcSeconds: median(runs.map(totalGcSeconds)),
      scrapeMs: median(runs.map((run) => run.scrape?.ms ?? Number.NaN)),
    };
  });
}

function reportGrowth(report: Reporter, results: SteadyRunResult[], plan: Plan): void {
  const figures = figuresBySize(results);
  const smallest = figures[0]!;
  const header = '  targets  probes/s  executed %  lag p99 ms  CPU cores  core per 1k targets  RSS MiB  KiB/target*  loop max ms  GC s  scrape ms';
  const lines = figures.map((f) => {
    const perTargetKiB = f.size === smallest.size ? Number.NaN : ((f.rssMiB - smallest.rssMiB) * 1024) / (f.size - smallest.size);
    return `  ${String(f.size).padStart(7)}  ${String(Math.round((f.size * 1000) / plan.intervalMs)).padStart(8)}  ${f.executedPercent.toFixed(2).padStart(10)}  ${formatValue(f.lagP99).padStart(10)}  ${formatValue(f.cpuCores).padStart(9)}  ${formatValue((f.cpuCores * 1000) / f.size).padStart(19)}  ${formatValue(f.rssMiB).padStart(7)}  ${formatValue(perTargetKiB).padStart(11)}  ${formatValue(f.loopMaxMs).padStart(11)}  ${formatValue(f.gcSeconds).padStart(4)}  ${formatValue(f.scrapeMs).padStart(9)}`;
  });
  report.lines(['  growth (medians per size; * RSS above the smallest size, per added target):', header, ...lines].join('\n'));
  report.detail('growth', figures);
  const broken = figures.find((f) => !BARS.executedPercent.met(f.executedPercent) || !BARS.lagP99Ms.met(f.lagP99));
  if (figures.length > 1) {
    report.note(broken
      ? `it stops at ${formatCount(broken.size)} targets (${Math.round((broken.size * 1000) / plan.intervalMs)} probes/s): executed ${broken.executedPercent.toFixed(2)} %, lag p99 ${formatValue(broken.lagP99)} ms`
      : `no size up to ${formatCount(figures.at(-1)!.size)} targets missed the executed or lag bar`);
  }
}

export function growthChart(results: SteadyRunResult[], plan: { intervalMs: number }): string {
  const figures = figuresBySize(results);
  const points = (pick: (f: SizeFigures) => number) => figures.map((f) => ({ x: f.size, y: pick(f) }));
  const hasMetrics = results.some((result) => result.metricsLag !== undefined);
  return lineChart(`probebot: TCP targets at a ${plan.intervalMs / 1000} s interval (medians)`, 'targets', [
    {
      title: 'start lag p99',
      unit: 'ms',
      series: [
        ...(hasMetrics ? [{ label: 'bot /metrics', color: '#1f77b4', points: points((f) => f.lagP99) }] : []),
        { label: 'at the listener', color: '#ff7f0e', points: points((f) => f.arrivalP99) },
      ],
      bar: { y: 50, label: 'bar 50 ms' },
      clampAt: 250,
    },
    { title: 'CPU, process + children', unit: 'cores', series: [{ label: 'bot', color: '#2ca02c', points: points((f) => f.cpuCores) }], bar: { y: 0.5, label: 'bar 0.5 @ 10k' } },
    { title: 'RSS', unit: 'MiB', series: [{ label: 'bot', color: '#9467bd', points: points((f) => f.rssMiB) }], bar: { y: 250, label: 'bar 250 @ 10k' } },
  ]);
}

function totalGcSeconds(run: SteadyRunResult): number {
  return run.gc ? Object.values(run.gc).reduce((sum, kind) => sum + kind.seconds, 0) : Number.NaN;
}

function formatCount(n: number): string {
  return n >= 1000 ? `${n / 1000}k` : String(n);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
