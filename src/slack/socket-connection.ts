/**
 * Keeps the Socket Mode connection up, in the background: startup never waits for Slack.
 * The Socket Mode client's own reconnecting is turned off because a failed reconnect there is
 * an unhandled rejection (which would end the process); here every attempt is awaited, a lost
 * connection is retried with backoff, and a refused app token is reported once and not retried.
 */
import type { SocketModeReceiver } from '@slack/bolt';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';

/** apps.connections.open answers that no retry will change. */
const PERMANENT = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'not_allowed_token_type', 'user_removed_from_team', 'team_disabled', 'missing_scope']);

export interface SocketConnectionOptions {
  receiver: SocketModeReceiver;
  clock: Clock;
  logger: Logger;
  /** First and longest wait between attempts; default 1 s and 5 min. */
  retryDelayMs?: { first: number; max: number };
  /** How long one attempt may take until Slack's hello; default 30 s. */
  connectTimeoutMs?: number;
}

export class SocketConnection {
  private stopped = false;
  private connected = false;
  private failures = 0;
  private timer: TimerHandle | undefined;
  private attempt: Promise<void> | undefined;

  constructor(private readonly options: SocketConnectionOptions) {
    options.receiver.client.on('disconnected', () => {
      if (!this.connected || this.stopped) return;
      this.connected = false;
      options.logger.warn('Slack Socket Mode connection lost; reconnecting');
      this.retryLater();
    });
  }

  start(): void {
    this.attempt = this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    // A peer that never completes the close handshake must not hold the shutdown.
    await withTimeout(this.options.receiver.client.disconnect(), 2000).catch(() => undefined);
    await this.attempt;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { receiver, logger } = this.options;
    try {
      await withTimeout(receiver.start(), this.options.connectTimeoutMs ?? 30_000);
      if (this.stopped) return;
      this.connected = true;
      if (this.failures > 0) logger.info('Slack Socket Mode connected again');
      else logger.info('Slack Socket Mode connected');
      this.failures = 0;
    } catch (error) {
      if (this.stopped) return;
      const code = (error as { data?: { error?: unknown } }).data?.error;
      if (typeof code === 'string' && PERMANENT.has(code)) {
        logger.error({ code }, `Slack Socket Mode cannot connect: apps.connections.open answered ${code}; check slack.appToken (an xapp-… app-level token with connections:write). /probe stays off until probebot restarts.`);
        return;
      }
      await withTimeout(receiver.client.disconnect(), 2000).catch(() => undefined);
      this.failures++;
      logger.warn({ error: (error as Error).message, attempt: this.failures }, 'Slack Socket Mode could not connect; retrying');
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (this.stopped || this.timer !== undefined) return;
    const { first, max } = this.options.retryDelayMs ?? { first: 1000, max: 5 * 60_000 };
    const delay = Math.min(max, first * 2 ** Math.max(0, this.failures - 1));
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.attempt = this.connect();
    }, delay);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no hello from Slack within ${ms} ms`)), ms);
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
