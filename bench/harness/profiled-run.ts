/** One more run, under node --cpu-prof, when a bar was missed: where the bot spent its time. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { formatProfile, newestProfile, summariseProfile } from './profile.js';
import type { Reporter } from './reporter.js';
import { steadyRun, type SteadyRunOptions } from './steady-run.js';

export async function profiledRun(context: BenchContext, report: Reporter, options: SteadyRunOptions): Promise<void> {
  const dir = join(context.resultsDir, 'profiles', report.scenario);
  await mkdir(dir, { recursive: true });
  context.log(`${report.scenario}: a bar was missed; one more run under --cpu-prof`);
  const result = await steadyRun(context, { ...options, label: `${options.label}-profiled`, cpuProfileDir: dir });
  const file = await newestProfile(dir);
  if (!file) {
    report.note(`no CPU profile was written to ${dir}`);
    return;
  }
  const summary = await summariseProfile(file, context.repoRoot, { skipFirstMs: result.startupMs + options.warmupMs });
  report.lines(formatProfile(summary));
  report.detail('profile', { run: result, summary });
}
