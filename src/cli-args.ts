import { parseArgs } from 'node:util';

export type Command = 'run' | 'check' | 'probe' | 'schema' | 'test-alert' | 'help' | 'version';

export interface CliArgs {
  command: Command;
  configPath: string;
  logLevel?: string;
  json: boolean;
  watch: boolean;
  /** The probe address or target name, or the test-alert notifier name. */
  subject?: string;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `probebot: watches connectivity and alerts Slack, PagerDuty and webhooks

Usage:
  probebot run [-c rules.yaml] [--watch]       run the bot (the default command); SIGHUP reloads
                                               the config, --watch also reloads when the file changes
  probebot check [-c rules.yaml]               validate the config, print the targets' effective settings
  probebot probe <target|url|host:port|host> [-c rules.yaml] [--json]
                                               run one probe now; exit 0 when it passes, 1 when it fails
  probebot test-alert <notifier> [-c rules.yaml]
                                               send a marked test alert through a notifier
  probebot schema                              print the JSON Schema of the config file

Options:
  -c, --config <file>   config file (default: rules.yaml)
  --log-level <level>   trace, debug, info, warn, error, fatal (default: info)
  --json                probe: print the result as JSON
  --watch               run: reload the config when the file changes
  -h, --help            this text
  -v, --version         the version

Exit codes: 0 ok, 1 probe or alert failed, 2 usage or config error.`;

const COMMANDS = new Set<Command>(['run', 'check', 'probe', 'schema', 'test-alert', 'help', 'version']);

export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'log-level': { type: 'string' },
        json: { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  let command: Command = 'run';
  if (values.help) command = 'help';
  else if (values.version) command = 'version';
  else if (first !== undefined) {
    if (!COMMANDS.has(first as Command)) throw new UsageError(`unknown command "${first}" (try probebot --help)`);
    command = first as Command;
  }
  const needsSubject = command === 'probe' || command === 'test-alert';
  if (needsSubject && rest.length !== 1) {
    throw new UsageError(command === 'probe' ? 'probe needs one target name, URL, host:port or host' : 'test-alert needs one notifier name');
  }
  if (!needsSubject && rest.length > 0 && command !== 'help') throw new UsageError(`unexpected argument "${rest[0]}"`);
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level must be one of trace, debug, info, warn, error, fatal, silent`);
  }
  const args: CliArgs = { command, configPath: values.config ?? 'rules.yaml', json: values.json, watch: values.watch };
  if (logLevel !== undefined) args.logLevel = logLevel;
  if (needsSubject) args.subject = rest[0]!;
  return args;
}
