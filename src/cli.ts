#!/usr/bin/env node
/** argv → commands. The only place that calls process.exit. */
import { existsSync, readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Bot } from './app.js';
import { parseCli, UsageError, USAGE, type CliArgs } from './cli-args.js';
import { limitHeapGrowth } from './heap.js';
import { describeBacktracking, enableLinearTimeFallback, patternsWithoutFallback } from './regex-fallback.js';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { Logger } from './log.js';
import type { IcmpTools } from './probes/icmp.js';

// Each command imports what it needs when it runs: `check` must not pay for the HTTP and Slack
// clients, metrics or the logger, and `run` loads those only when the config uses them.

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** An error already phrased for people: printed as it is, no stack trace. */
class CliFailure extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv);
  // Before any config is loaded: V8 reads these flags when it compiles a pattern.
  enableLinearTimeFallback();
  switch (args.command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    case 'version':
      process.stdout.write(`${version()}\n`);
      return EXIT_OK;
    case 'schema': {
      const { configJsonSchema } = await import('./config/json-schema.js');
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return EXIT_OK;
    }
    case 'check': {
      const config = await loadConfig(args.configPath);
      await requireIcmpTools(config);
      const { formatTargetTable } = await import('./check-table.js');
      process.stdout.write(`${args.configPath}: ok, ${config.targets.length} targets\n${formatTargetTable(config.targets)}\n`);
      for (const found of patternsWithoutFallback(config.targets)) process.stdout.write(`note: ${describeBacktracking(found)}\n`);
      return EXIT_OK;
    }
    case 'probe':
      return probeOnce(args);
    case 'test-alert':
      return testAlert(args);
    case 'run':
      return run(args);
  }
}

async function run(args: CliArgs): Promise<number> {
  limitHeapGrowth();
  // SIGINT and SIGTERM are ours from the start: their default action would end a bot half
  // started. One that comes while starting is honoured once there is a bot to stop (or at once,
  // before one is started); a second exits at once, as it does later.
  let stopAsked: NodeJS.Signals | undefined;
  let onStopSignal = (signal: NodeJS.Signals): void => {
    if (stopAsked !== undefined) return exitWhenWritten(EXIT_FAILED);
    stopAsked = signal;
  };
  const stopSignal = (signal: NodeJS.Signals): void => onStopSignal(signal);
  process.on('SIGINT', stopSignal);
  process.on('SIGTERM', stopSignal);
  const config = await loadConfig(args.configPath);
  const icmpTools = await requireIcmpTools(config);
  const [{ Bot }, { createLogger }] = await Promise.all([import('./app.js'), import('./log.js')]);
  const logger = createLogger(args.logLevel === undefined ? {} : { level: args.logLevel });
  if (stopAsked !== undefined) {
    logger.info({ signal: stopAsked }, 'stopped before starting');
    return EXIT_OK;
  }
  // Listening for SIGHUP before starting: its default action would end a bot still starting up.
  let markStarted!: (bot: Bot | undefined) => void;
  const started = new Promise<Bot | undefined>((resolve) => (markStarted = resolve));
  const reloads = reloadOnRequest(started, args, logger);
  let bot: Bot;
  try {
    bot = await Bot.start({ config, logger, icmpTools });
    markStarted(bot);
  } catch (error) {
    markStarted(undefined);
    reloads.stop();
    throw new CliFailure(`probebot: cannot start: ${describe(error)}`, EXIT_FAILED);
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        resolve(EXIT_FAILED);
        return;
      }
      logger.info({ signal }, 'shutting down');
      reloads.stop();
      bot.stop().then(
        () => resolve(EXIT_OK),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(EXIT_FAILED);
        },
      );
    };
    onStopSignal = shutdown;
    if (stopAsked !== undefined) shutdown(stopAsked);
  });
}

/**
 * SIGHUP (and, with --watch, a change of the file) reloads the config. A config that does not
 * validate is logged line by line and counted; the running one stays. Reloads never overlap.
 */
function reloadOnRequest(started: Promise<Bot | undefined>, args: CliArgs, logger: Logger): { stop(): void } {
  // A reload asked for during startup waits for the bot.
  let chain: Promise<unknown> = started;
  const reload = (trigger: string) => {
    chain = chain.then(async () => {
      const bot = await started;
      if (!bot) return;
      logger.info({ trigger, config: args.configPath }, 'reloading config');
      try {
        const next = await loadConfig(args.configPath);
        await requireIcmpTools(next);
        await bot.reload(next);
      } catch (error) {
        bot.reloadFailed();
        const lines = error instanceof ConfigError ? error.lines : [describe(error)];
        for (const line of lines) logger.error({ config: args.configPath }, `config reload refused, keeping the running config: ${line}`);
      }
    });
  };
  const onHangup = () => reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  const onChange = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) reload('file changed');
  };
  // Polling survives editors that replace the file instead of writing it in place.
  if (args.watch) watchFile(args.configPath, { interval: 1_000 }, onChange);
  return {
    stop() {
      process.off('SIGHUP', onHangup);
      if (args.watch) unwatchFile(args.configPath, onChange);
    },
  };
}

async function probeOnce(args: CliArgs): Promise<number> {
  const subject = args.subject!;
  const config = existsSync(args.configPath) || args.configPath !== 'rules.yaml' ? await loadConfig(args.configPath) : undefined;
  const { adhocTarget } = await import('./probes/adhoc.js');
  const target = config?.targets.find((candidate) => candidate.name === subject) ?? adhocTarget(subject);
  if (!target) {
    throw new CliFailure(`probebot: "${subject}" is neither a target in ${args.configPath} nor a URL, host:port or host`, EXIT_USAGE);
  }
  const icmpTools = target.type === 'icmp' ? await requireTools() : { fping: null, ping: null };
  const [{ createProbes, prepareProbes }, { createLogger }, { formatProbeResult }] = await Promise.all([
    import('./probes/index.js'),
    import('./log.js'),
    import('./probes/format.js'),
  ]);
  await prepareProbes([target]);
  const probes = createProbes({ icmp: icmpTools, logger: createLogger({ level: args.logLevel ?? 'warn' }) });
  try {
    const result = await probes.runWithDeadline(target);
    process.stdout.write(args.json ? `${JSON.stringify({ target: target.name, type: target.type, ...result })}\n` : `${formatProbeResult(target, result)}\n`);
    return result.ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    probes.close();
  }
}

async function testAlert(args: CliArgs): Promise<number> {
  const config = await loadConfig(args.configPath);
  const name = args.subject!;
  if (!config.notifiers[name]) {
    throw new CliFailure(`probebot: no notifier "${name}" in ${args.configPath} (have: ${Object.keys(config.notifiers).join(', ')})`, EXIT_USAGE);
  }
  const [{ createLogger }, { sendTestAlert }] = await Promise.all([import('./log.js'), import('./alerts/test-alert.js')]);
  const logger = createLogger({ level: args.logLevel ?? 'info' });
  const outcome = await sendTestAlert(config, name, logger);
  if (outcome.status === 'delivered') {
    process.stdout.write(`test alert delivered through ${name}\n`);
    return EXIT_OK;
  }
  process.stderr.write(`probebot: test alert through ${name} failed: ${outcome.error}\n`);
  return EXIT_FAILED;
}

/** ICMP targets need fping or ping: said once at startup, not at every probe. */
async function requireIcmpTools(config: Config): Promise<IcmpTools> {
  if (!config.targets.some((target) => target.type === 'icmp')) return { fping: null, ping: null };
  return requireTools();
}

async function requireTools(): Promise<IcmpTools> {
  const { detectIcmpTools, icmpToolsProblem } = await import('./probes/icmp.js');
  const tools = await detectIcmpTools();
  const problem = icmpToolsProblem(tools);
  if (problem) throw new CliFailure(`probebot: ${problem}`, EXIT_USAGE);
  return tools;
}

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function report(error: unknown, logger?: Logger): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.lines.join('\n')}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`probebot: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof CliFailure) {
    process.stderr.write(`${error.message}\n`);
    return error.exitCode;
  }
  if (logger) logger.fatal({ err: error }, 'unexpected error');
  process.stderr.write(`probebot: unexpected error: ${describe(error)}\n`);
  return EXIT_FAILED;
}

process.on('unhandledRejection', (error) => {
  process.stderr.write(`probebot: unexpected error: ${describe(error)}\n`);
  process.exit(EXIT_FAILED);
});

main(process.argv.slice(2)).then(
  (code) => exitWhenWritten(code),
  (error: unknown) => exitWhenWritten(report(error)),
);

/**
 * Exits once stdout and stderr have handed over what was written: process.exit drops what a
 * pipe has not taken yet, so `probebot check | grep db` lost every line past the first 64 KiB.
 */
function exitWhenWritten(code: number): void {
  let waiting = 2;
  const done = (): void => {
    if (--waiting === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
