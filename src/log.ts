import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Fields that may hold credentials: never written to a log line. */
export const REDACTED_PATHS = [
  '*.botToken', '*.signingSecret', '*.appToken', '*.routingKey', '*.secret', '*.token',
  '*.headers.authorization', '*.headers.Authorization', 'headers.authorization', 'headers.Authorization',
  'config.slack.botToken', 'config.slack.signingSecret', 'config.slack.appToken',
];

export interface LogOptions {
  level?: string;
  /** Human-readable output; defaults to on when stdout is a terminal. */
  pretty?: boolean;
  /** Where lines go (tests pass a stream); stdout by default. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const settings: LoggerOptions = {
    name: 'probebot',
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: null,
  };
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.destination === undefined);
  if (pretty) {
    return pino({ ...settings, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'name' } } });
  }
  return options.destination ? pino(settings, options.destination as pino.DestinationStream) : pino(settings);
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
