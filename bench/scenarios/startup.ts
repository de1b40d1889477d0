/**
 * Scenario 6, startup and config: `probebot check` on a 10,000-target rules.yaml (the real CLI,
 * process start included), the same parse in-process for reference, and the time from spawning
 * `probebot run` with 1,000 targets to the first probe arriving at a listener.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/load.js';
import { BotProcess } from '../harness/bot.js';
import { writeConfig, type ConfigObject } from '../harness/config.js';
import { scratchDir, type BenchContext } from '../harness/context.js';
import { TcpFleet } from '../harness/fleet.js';
import { fleetTargets } from '../harness/fleet-targets.js';
import { below, formatValue } from '../harness/rows.js';
import type { Scenario } from '../harness/scenario.js';
import { median } from '../harness/stats.js';
import { formatProfile, newestProfile, summariseProfile } from '../harness/profile.js';
import type { Reporter } from '../harness/reporter.js';

const VALIDATE_TARGETS = 10_000;
/** The smoke run checks the harness, not the bar: a smaller file keeps it under a minute. */
const QUICK_VALIDATE_TARGETS = 2_000;
const START_TARGETS = 1_000;
const FIRST_PROBE_TIMEOUT_MS = 15_000;

export const startup: Scenario = {
  name: 'startup',
  title: 'validating a 10,000-target config; start to first probe with 1,000 targets',
  async run(context, report) {
    const runs = context.quick ? 1 : Math.max(5, context.repeat);
    const validateTargets = context.quick ? QUICK_VALIDATE_TARGETS : VALIDATE_TARGETS;
    const dir = await scratchDir(context, 'startup');
    const configPath = await writeConfig(dir, { stateDir: join(dir, 'state'), defaults: { interval: '30s', timeout: '3s' }, notifiers: { ops: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } }, targets: validationTargets(validateTargets) });
    const checkMs: number[] = [];
    for (let i = 0; i < runs; i++) checkMs.push(await timeCheck(context, configPath, dir));
    report.row({ figure: `probebot check, ${validateTargets.toLocaleString('en')} targets (process included)`, unit: 'ms', runs: checkMs, bar: below(1000, 'ms') });
    const text = await readFile(configPath, 'utf8');
    const parseMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      parseConfig(text, configPath, {});
      parseMs.push(performance.now() - started);
    }
    report.row({ figure: 'parseConfig alone (in-process, for reference)', unit: 'ms', runs: parseMs, note: `${(text.length / 2 ** 20).toFixed(1)} MiB of YAML` });
    if (!context.quick) {
      const importMs: number[] = [];
      for (let i = 0; i < runs; i++) importMs.push(await timeProcess([...IMPORT_APP, join(context.cliPath, '..', 'app.js')], dir));
      report.row({ figure: 'node start + loading the bot\'s modules, no config', unit: 'ms', runs: importMs, note: 'the floor under both figures above and below' });
    }

    const fleet = await TcpFleet.start(START_TARGETS);
    try {
      const firstProbe: number[] = [];
      const ready: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { toFirstProbe, toReady } = await timeFirstProbe(context, fleet);
        firstProbe.push(toFirstProbe);
        ready.push(toReady);
      }
      report.row({
        figure: `spawn to first probe, ${START_TARGETS.toLocaleString('en')} targets`,
        unit: 'ms',
        runs: firstProbe,
        bar: below(1000, 'ms'),
        note: `spawn to "probebot started" ${formatValue(median(ready))} ms; the first probe then waits for the earliest phase on the grid`,
      });
      if (report.failed.length > 0 && !context.quick) await profileStartup(context, report, configPath, dir, fleet);
    } finally {
      await fleet.stop();
    }
  },
};

function validationTargets(count: number): ConfigObject[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `svc-${String(i).padStart(5, '0')}`;
    const labels = { team: `team-${i % 20}`, env: i % 3 === 0 ? 'prod' : 'staging' };
    if (i % 4 === 0) return { name, type: 'http', url: `http://127.0.0.1:8080/health/${i}`, labels, expect: { status: [200, 204] } };
    return { name, type: 'tcp', host: `127.0.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`, port: 5432, labels, notify: ['log', 'ops'] };
  });
}

const IMPORT_APP = ['--input-type=module', '-e', 'await import(process.argv[1])'];

function timeCheck(context: BenchContext, configPath: string, cwd: string, nodeArgs: string[] = []): Promise<number> {
  return timeProcess([...nodeArgs, context.cliPath, 'check', '-c', configPath], cwd);
}

/** Wall time of a node process run to its end; throws when it fails. */
async function timeProcess(args: string[], cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const elapsed = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`);
  return elapsed;
}

/** A missed bar: `probebot check` and a bot start, each once more under --cpu-prof. */
async function profileStartup(context: BenchContext, report: Reporter, configPath: string, cwd: string, fleet: TcpFleet): Promise<void> {
  const dir = join(context.resultsDir, 'profiles', 'startup');
  await mkdir(dir, { recursive: true });
  for (const [label, run] of [
    ['check', () => timeCheck(context, configPath, cwd, ['--cpu-prof', '--cpu-prof-dir', join(dir, 'check')])],
    ['run', () => timeFirstProbe(context, fleet, join(dir, 'run'))],
  ] as const) {
    await run();
    const file = await newestProfile(join(dir, label));
    if (!file) continue;
    const summary = await summariseProfile(file, context.repoRoot);
    report.lines(`  ${label}:\n${formatProfile(summary)}`);
    report.detail(`profile-${label}`, summary);
  }
}

async function timeFirstProbe(context: BenchContext, fleet: TcpFleet, cpuProfileDir?: string): Promise<{ toFirstProbe: number; toReady: number }> {
  const dir = await scratchDir(context, 'first-probe');
  const { config } = fleetTargets(fleet, START_TARGETS, 10_000);
  const configPath = await writeConfig(dir, { stateDir: join(dir, 'state'), defaults: { interval: '10s', timeout: '3s' }, targets: config });
  await fleet.arrivals(true);
  const options = { cliPath: context.cliPath, configPath, logPath: join(dir, 'bot.log'), cwd: dir };
  const bot = await BotProcess.start(cpuProfileDir ? { ...options, cpuProfileDir } : options);
  try {
    for (const deadline = Date.now() + FIRST_PROBE_TIMEOUT_MS; Date.now() < deadline;) {
      const arrivals = await fleet.arrivals();
      if (arrivals.times.length > 0) {
        const first = Math.min(...arrivals.times);
        return { toFirstProbe: first - bot.spawnedAt, toReady: bot.readyAt - bot.spawnedAt };
      }
      await sleep(10);
    }
    throw new Error(`no probe arrived within ${FIRST_PROBE_TIMEOUT_MS} ms of starting the bot`);
  } finally {
    await bot.stop();
  }
}
