/**
 * Scenario 2, isolation: the scale run with 20% of the targets blackholed (SYNs dropped, so each
 * probe waits out its 3 s timeout) and 5% HTTP targets whose body stalls. The healthy targets
 * must not notice: their lag p99 within 1.5× of the all-healthy run and not one missed tick.
 * Each isolated run is paired with an all-healthy run (scenario 1's config) right before or after
 * it, alternating, so machine load that drifts over minutes falls on both sides. The figure is
 * the ratio of the two medians; each pair's own ratio is shown as the spread.
 * The window opens once every bad target is DOWN (steady state: they still time out every
 * interval); the span before it, when 2,500 targets go DOWN at once, is reported on its own.
 */
import type { TargetsApi } from '../servers/targets.js';
import { TcpFleet } from '../harness/fleet.js';
import { fleetTargets } from '../harness/fleet-targets.js';
import { Helper } from '../harness/helper.js';
import { startAll } from '../harness/start-all.js';
import { profiledRun } from '../harness/profiled-run.js';
import { atMost, formatValue } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { median } from '../harness/stats.js';
import { busiestKernelThreads, steadyRun, type SteadyRunOptions, type SteadyRunResult } from '../harness/steady-run.js';
import { scaleConfig } from './scale.js';

const MiB = 2 ** 20;

interface Plan {
  targets: number;
  intervalMs: number;
  timeout: string;
  warmupMs: number;
  /** Until every bad target is DOWN: its first failure within one interval, then two retries 5 s apart, each a timeout long. */
  isolatedWarmupMs: number;
  windowMs: number;
  tailMs: number;
}

const FULL: Plan = { targets: 10_000, intervalMs: 10_000, timeout: '3s', warmupMs: 5_000, isolatedWarmupMs: 32_000, windowMs: 60_000, tailMs: 1_500 };
const QUICK: Plan = { targets: 500, intervalMs: 1_000, timeout: '300ms', warmupMs: 1_000, isolatedWarmupMs: 3_500, windowMs: 1_500, tailMs: 500 };
const BLACKHOLED_SHARE = 0.2;
const STALLED_SHARE = 0.05;

export const isolation: Scenario = {
  name: 'isolation',
  title: '20% blackholed + 5% stalled-body targets: healthy targets keep their schedule',
  async run(context, report) {
    const plan = context.quick ? QUICK : FULL;
    const blackholed = Math.round(plan.targets * BLACKHOLED_SHARE);
    const stalled = Math.round(plan.targets * STALLED_SHARE);
    const healthy = plan.targets - blackholed - stalled;
    report.detail('plan', { ...plan, healthy, blackholed, stalled });
    const [fleet, targets] = await startAll(TcpFleet.start(plan.targets), Helper.start<TargetsApi>('targets.ts', 'targets'));
    try {
      const hole = await targets.call('blackhole', {} as never);
      const stall = await targets.call('httpStall', {} as never);
      const all = fleetTargets(fleet, plan.targets, plan.intervalMs);
      const baselineOptions = (label: string): SteadyRunOptions => ({
        label,
        config: scaleConfig(all.config, plan.intervalMs),
        graded: all.graded.slice(0, healthy),
        fleet,
        warmupMs: plan.warmupMs,
        windowMs: plan.windowMs,
        tailMs: plan.tailMs,
      });
      const mixed = [
        ...all.config.slice(0, healthy),
        ...Array.from({ length: blackholed }, (_, i) => ({ name: `blackholed-${String(i).padStart(5, '0')}`, type: 'tcp', host: hole.host, port: hole.port })),
        ...Array.from({ length: stalled }, (_, i) => ({ name: `stalled-${String(i).padStart(5, '0')}`, type: 'http', url: `${stall.url}/stalled-${i}` })),
      ];
      const isolatedOptions = (label: string): SteadyRunOptions => ({
        ...baselineOptions(label),
        warmupMs: plan.isolatedWarmupMs,
        config: { ...scaleConfig(mixed, plan.intervalMs), defaults: { interval: `${plan.intervalMs}ms`, timeout: plan.timeout } },
      });
      const pairs: Array<{ baseline: SteadyRunResult; isolated: SteadyRunResult }> = [];
      for (let i = 0; i < Math.max(1, context.repeat); i++) {
        // Every other pair runs the isolated half first: a run leaves the machine a little
        // different for the next one (sockets in TIME_WAIT, helpers' heaps), and that must not
        // always fall on the same side of the ratio.
        const isolatedFirst = i % 2 === 1;
        context.log(`isolation: pair ${i + 1}: ${isolatedFirst ? `${blackholed} blackholed + ${stalled} stalled, then all healthy` : `all healthy, then ${blackholed} blackholed + ${stalled} stalled`}`);
        const runBaseline = () => steadyRun(context, baselineOptions(`isolation-baseline-${i}`));
        const runIsolated = () => steadyRun(context, isolatedOptions(`isolation-mixed-${i}`));
        if (isolatedFirst) {
          const isolated = await runIsolated();
          pairs.push({ baseline: await runBaseline(), isolated });
        } else {
          const baseline = await runBaseline();
          pairs.push({ baseline, isolated: await runIsolated() });
        }
      }
      report.detail('pairs', pairs);
      // A ratio of medians: one noisy run on either side moves it less than a median of ratios.
      const isolatedP99 = median(pairs.map((p) => p.isolated.arrivalLag.p99));
      const baselineP99 = median(pairs.map((p) => p.baseline.arrivalLag.p99));
      report.row({
        figure: `healthy lag p99: isolated / all-healthy (${healthy} graded)`,
        unit: '×',
        runs: pairs.map(({ baseline, isolated }) => isolated.arrivalLag.p99 / baseline.arrivalLag.p99),
        median: isolatedP99 / baselineP99,
        bar: atMost(1.5, '×'),
        note: `median p99 ${formatValue(isolatedP99)} ms vs ${formatValue(baselineP99)} ms at the listener; spread: ratios within each pair`,
      });
      report.row({
        figure: 'healthy targets that missed a tick',
        unit: 'targets',
        runs: pairs.map((p) => p.isolated.targetsMissingTicks),
        bar: atMost(0, ''),
        ...(pairs.some((p) => p.isolated.missingExamples.length > 0) ? { note: pairs.flatMap((p) => p.isolated.missingExamples).slice(0, 3).join('; ') } : {}),
      });
      report.row({ figure: 'healthy probes executed / scheduled', unit: '%', runs: pairs.map((p) => 100 * p.isolated.executedShare) });
      report.row({
        figure: `healthy lag p99 while the ${blackholed + stalled} go DOWN (first ${plan.isolatedWarmupMs / 1000} s)`,
        unit: 'ms',
        runs: pairs.map((p) => p.isolated.warmup.arrivalLag.p99),
        note: `${pairs.reduce((sum, p) => sum + p.isolated.warmup.targetsMissingTicks, 0)} healthy targets missed a tick then; ${blackholed + stalled} DOWN alerts (log notifier) fall in this span, not in the window above`,
      });
      report.row({ figure: 'bot CPU with the bad targets', unit: 'core', runs: pairs.map((p) => p.isolated.cpuCores), note: `all healthy: ${formatValue(median(pairs.map((p) => p.baseline.cpuCores)))} core` });
      report.row({ figure: 'bot RSS with the bad targets', unit: 'MiB', runs: pairs.map((p) => p.isolated.rssBytes / MiB), note: `all healthy: ${formatValue(median(pairs.map((p) => p.baseline.rssBytes / MiB)))} MiB` });
      report.row({
        figure: "kernel threads' CPU with the bad targets (not the bot's)",
        unit: 'core',
        runs: pairs.map((p) => p.isolated.kernelThreads.cores),
        note: `all healthy: ${formatValue(median(pairs.map((p) => p.baseline.kernelThreads.cores)))} core; busiest in the first pair: ${busiestKernelThreads(pairs[0]!.isolated)} (all healthy: ${busiestKernelThreads(pairs[0]!.baseline)})`,
      });
      if (pairs.every((p) => p.isolated.metricsLag && p.baseline.metricsLag)) {
        report.row({ figure: 'start lag p99 (/metrics, all targets), isolated', unit: 'ms', runs: pairs.map((p) => p.isolated.metricsLag!.p99), note: `all healthy: ${formatValue(median(pairs.map((p) => p.baseline.metricsLag!.p99)))} ms` });
      }
      if (report.failed.length > 0 && !context.quick) await profiledRun(context, report, { ...isolatedOptions('isolation'), windowMs: 30_000 });
    } finally {
      await targets.stop();
      await fleet.stop();
    }
  },
};
