/**
 * `npm run bench [-- <scenario>…] [--quick] [--repeat N]`: drives the real bot (the compiled CLI,
 * in its own process) against loopback targets in other processes, prints one row per figure
 * and writes bench/results/<scenario>.json (bench/results/quick/ for --quick).
 *
 * Exit code: 0 when every bar was met, or always with --quick as long as the harness worked (the
 * smoke run checks the harness, not the machine); 1 when a full run missed a bar; 2 when the
 * harness itself failed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBot } from './harness/build.js';
import type { BenchContext } from './harness/context.js';
import { Helper } from './harness/helper.js';
import { loadAverage, machineInfo, waitForQuietMachine } from './harness/machine.js';
import { Reporter } from './harness/reporter.js';
import { formatHeader } from './harness/rows.js';
import type { Scenario } from './harness/scenario.js';
import { alerts } from './scenarios/alerts.js';
import { isolation } from './scenarios/isolation.js';
import { probeCost } from './scenarios/probe-cost.js';
import { scale } from './scenarios/scale.js';
import { slash } from './scenarios/slash.js';
import { startup } from './scenarios/startup.js';

const SCENARIOS: Scenario[] = [startup, scale, isolation, probeCost, alerts, slash];

const EXIT_OK = 0;
const EXIT_BAR_MISSED = 1;
const EXIT_HARNESS_FAILED = 2;
/** A scenario starts once less than this share of all cores is busy for a second, or after QUIET_WAIT_MS. */
const QUIET_BUSY_SHARE = 0.1;
const QUIET_WAIT_MS = 60_000;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npm run bench -- [${SCENARIOS.map((s) => s.name).join('|')}]… [--quick] [--repeat N] [--keep]\n`);
    for (const scenario of SCENARIOS) process.stdout.write(`  ${scenario.name.padEnd(10)} ${scenario.title}\n`);
    return EXIT_OK;
  }
  const unknown = positionals.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')} (have: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const chosen = positionals.length === 0 ? SCENARIOS : SCENARIOS.filter((scenario) => positionals.includes(scenario.name));
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  const quick = values.quick;
  const resultsDir = join(repoRoot, 'bench', 'results', ...(quick ? ['quick'] : []));
  const workDir = join(repoRoot, '.tmp', `bench-work-${process.pid}`);
  await mkdir(resultsDir, { recursive: true });
  await mkdir(workDir, { recursive: true });

  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
  const machine = machineInfo();
  const built = await buildBot(repoRoot);
  Helper.bundledDir = built.helpersDir;
  log(`built the bot with ${built.tool} in ${built.buildMs.toFixed(0)} ms`);
  const context: BenchContext = { repoRoot, cliPath: built.cliPath, quick, repeat: Number(values.repeat ?? (quick ? 1 : 3)), workDir, resultsDir, log };
  process.stdout.write(`probebot bench${quick ? ' --quick' : ''}: ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load average ${machine.loadAverage.join(' ')}, ${context.repeat} run(s) per figure\n`);
  process.stdout.write(`${formatHeader()}\n`);

  let harnessFailed = false;
  let barMissed = false;
  try {
    for (const scenario of chosen) {
      const report = new Reporter(scenario.name, (line) => process.stdout.write(`${line}\n`));
      const busyAtStart = quick ? undefined : await waitForQuietMachine(QUIET_BUSY_SHARE, QUIET_WAIT_MS);
      if (busyAtStart !== undefined && busyAtStart >= QUIET_BUSY_SHARE) {
        report.note(`the machine was still ${Math.round(busyAtStart * 100)}% busy after ${QUIET_WAIT_MS / 1000} s of waiting for it to settle; this scenario measured that too`);
      }
      const loadStart = loadAverage();
      const scenarioStarted = Date.now();
      let error: string | undefined;
      log(`${scenario.name}: ${scenario.title}`);
      try {
        await scenario.run(context, report);
      } catch (failure) {
        error = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
        harnessFailed = true;
        process.stdout.write(`${scenario.name.padEnd(14)} HARNESS ERROR: ${error.split('\n')[0]}\n`);
        log(error);
      }
      if (report.failed.length > 0) barMissed = true;
      const result = {
        scenario: scenario.name,
        title: scenario.title,
        quick,
        startedAt: new Date(scenarioStarted).toISOString(),
        durationSeconds: Math.round((Date.now() - scenarioStarted) / 1000),
        machine: { ...machine, loadAverage: undefined, loadAverageAtStart: loadStart, loadAverageAtEnd: loadAverage(), busyShareAtStart: busyAtStart },
        build: { tool: built.tool, ms: Math.round(built.buildMs) },
        rows: report.rows,
        notes: report.notes,
        ...(error === undefined ? {} : { error }),
        details: report.details,
      };
      await writeFile(join(resultsDir, `${scenario.name}.json`), `${JSON.stringify(result, jsonNumbers, 2)}\n`);
    }
  } finally {
    if (!values.keep) await rm(workDir, { recursive: true, force: true });
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${resultsDir}`);
  if (harnessFailed) return EXIT_HARNESS_FAILED;
  return barMissed && !quick ? EXIT_BAR_MISSED : EXIT_OK;
}

/** JSON has no NaN or Infinity: null, and fewer digits for readability. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null;
  if (value instanceof Float64Array || value instanceof Uint32Array) return `${value.length} values`;
  return value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT_HARNESS_FAILED);
  },
);
