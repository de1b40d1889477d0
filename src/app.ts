/**
 * The composition root: builds every part from a Config, starts them in order, and stops them
 * in reverse so a shutdown leaves no timer, socket or child process behind. The Slack app, the
 * Slack and HTTP clients are imported only when the config uses them (they are slow to load).
 */
import { AlertEngine } from './alerts/delivery.js';
import { openMemoStore, type DurableMemoStore } from './alerts/memos.js';
import type { Notifier } from './alerts/notifier.js';
import { loadNotifierFactories, type NotifierDeps } from './alerts/notifiers/loaders.js';
import { isDeepStrictEqual } from 'node:util';
import { systemClock, type Clock } from './clock.js';
import type { Config, Target } from './config/schema.js';
import { HealthWatch, healthBounds, healthRoutes } from './http/health.js';
import { Metrics, metricsRoute } from './http/metrics.js';
import { HttpServer } from './http/server.js';
import type { Logger } from './log.js';
import { Monitor } from './monitor/monitor.js';
import { StateStore } from './monitor/store.js';
import type { TargetStatus } from './monitor/types.js';
import { createProbes, prepareProbes, type IcmpTools, type ProbeRegistry } from './probes/index.js';
import { secureContexts } from './probes/tls-files.js';
import { isDeadline, type ProbeResult } from './probes/types.js';
import { Scheduler } from './scheduler/index.js';
import { slackAppMode } from './config/slack-mode.js';
import type { SlackApp } from './slack/app.js';
import type { SlackBotPortDeps } from './slack/bot-port.js';
import { enableLinearTimeFallback, patternsWithoutFallback } from './regex-fallback.js';
import { planReload, type ReloadPlan } from './reload.js';

/** ICMP targets start on whole-second slots within their interval, so fping batches them. */
const ICMP_PHASE_STEP_MS = 1_000;

export interface BotOptions {
  config: Config;
  logger: Logger;
  icmpTools: IcmpTools;
  clock?: Clock;
}

export class Bot {
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private slackApp: SlackApp | undefined;

  private constructor(
    private currentConfig: Config,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly store: StateStore,
    private readonly engine: AlertEngine,
    private readonly monitor: Monitor,
    private readonly probes: ProbeRegistry,
    private readonly scheduler: Scheduler,
    private readonly server: HttpServer,
    readonly port: number,
    private readonly metrics: Metrics,
    private readonly memos: DurableMemoStore,
    private notifiers: Map<string, Notifier>,
  ) {
    this.startedAt = clock.now();
  }

  get config(): Config {
    return this.currentConfig;
  }

  /** Starts everything, or throws after undoing whatever had started. */
  static async start(options: BotOptions): Promise<Bot> {
    const { config, logger } = options;
    const clock = options.clock ?? systemClock;
    enableLinearTimeFallback();
    const cleanups: Array<() => Promise<void> | void> = [];
    try {
      const store = new StateStore({ dir: config.state.dir, flushIntervalMs: config.state.flushInterval, clock, logger });
      const loaded = await store.load();
      const memos = await openMemoStore(config.state.dir, logger);
      const notifiers = await buildNotifiers(config, { logger, memos, clock });
      let monitor: Monitor | undefined;
      const engine = await AlertEngine.open({
        config,
        notifiers,
        stateDir: config.state.dir,
        clock,
        logger,
        memos,
        statusOf: (name) => monitor?.statusOf(name),
      });
      cleanups.push(() => engine.stop());
      monitor = new Monitor(loaded, store, engine, clock);
      for (const target of config.targets) monitor.track(target);
      dropForgottenTargets(monitor, config.targets);
      const adopted = monitor.adoptAnnouncements(engine.lastAnnounced());
      if (adopted.length > 0) logger.info({ targets: adopted }, 'took over announcements the saved states had missed (unclean stop)');
      store.start();
      cleanups.push(() => store.close());

      await prepareProbes(config.targets);
      const probes = createProbes({ icmp: options.icmpTools, logger });
      cleanups.push(() => probes.close());
      const metrics = new Metrics();
      const healthWatch = new HealthWatch({ clock, bounds: healthBounds(config.delivery.maxBackoff) });
      const scheduler = new Scheduler({
        clock,
        maxConcurrent: config.maxConcurrentProbes,
        logger,
        onLag: (lagMs) => {
          metrics.schedulerLag(lagMs);
          healthWatch.schedulerLag(lagMs);
        },
        onSkip: (reason, job) => logger.debug({ target: job, reason }, 'probe skipped'),
      });
      cleanups.push(() => scheduler.stop());

      const server = new HttpServer((error, path) => logger.error({ err: error, path }, 'request failed'));
      cleanups.push(() => server.close());
      const port = await server.listen(config.server.host, config.server.port);
      const bot = new Bot(config, logger, clock, store, engine, monitor, probes, scheduler, server, port, metrics, memos, notifiers);
      for (const [path, handler] of Object.entries(healthRoutes(bot, healthWatch))) server.route(path, handler);
      server.route('/metrics', metricsRoute(metrics, bot));
      const slackApp = await startSlackIfConfigured(config, { bot, server, clock, logger, probes, statusOf: (name) => monitor?.statusOf(name), silences: engine.silences, memos });
      if (slackApp) {
        bot.slackApp = slackApp;
        cleanups.push(() => slackApp.stop());
        logger.info({ mode: slackApp.mode }, 'slack app started');
      }

      engine.start();
      warnAboutBacktracking(logger, config.targets);
      for (const target of config.targets) bot.schedule(target);
      logger.info({ targets: config.targets.length, port, stateDir: config.state.dir }, 'probebot started');
      return bot;
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
      throw error;
    }
  }

  /** The status of every configured target, in config order. */
  statuses(): TargetStatus[] {
    return this.currentConfig.targets.flatMap((target) => this.monitor.statusOf(target.name) ?? []);
  }

  statusOf(name: string): TargetStatus | undefined {
    return this.monitor.statusOf(name);
  }

  health(): { ok: boolean; uptimeSeconds: number; scheduler: ReturnType<Scheduler['stats']>; outbox: ReturnType<AlertEngine['stats']>; state: ReturnType<StateStore['stats']> } {
    return {
      ok: this.stopping === undefined,
      uptimeSeconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      scheduler: this.scheduler.stats(),
      outbox: this.engine.stats(),
      state: this.store.stats(),
    };
  }

  /**
   * Applies a new, already validated config without a restart. Unchanged targets keep everything
   * (state, counters, schedule phase, open incidents); changed ones restart their schedule and keep
   * their state while the probe is the same; removed ones stop (their in-flight probe is aborted)
   * and their open incident is resolved; new ones start UNKNOWN. Notifier changes apply to the
   * next alert, and alerts pending for a removed notifier stay in the outbox.
   */
  async reload(next: Config): Promise<ReloadPlan> {
    const plan = planReload(this.currentConfig, next);
    secureContexts.forget();
    const starting = [...plan.added, ...plan.changed.map((change) => change.after)];
    await prepareProbes(starting);
    const config = { ...next };
    for (const section of plan.needsRestart) {
      this.logger.warn({ section }, `config reload: changes to "${section}" take effect after a restart`);
      Object.assign(config, { [section]: this.currentConfig[section] });
    }
    const resolveReason = config.delivery.resolveRemoved ? 'removed from config' : undefined;
    for (const target of plan.removed) {
      await this.scheduler.remove(target.name);
      const closing = this.monitor.untrack(target.name, resolveReason);
      this.metrics.removeTarget(target.name);
      if (closing) this.engine.publish([closing], target);
    }
    for (const { before, after, sameProbe } of plan.changed) {
      await this.scheduler.remove(before.name);
      if (!sameProbe) {
        const closing = this.monitor.untrack(before.name, resolveReason && 'probe changed in config');
        this.metrics.removeTarget(before.name);
        if (closing) this.engine.publish([closing], before);
      }
    }
    this.notifiers = await this.rebuildNotifiers(config);
    this.currentConfig = config;
    this.engine.updateConfig(config, this.notifiers);
    warnAboutBacktracking(this.logger, starting);
    for (const target of starting) {
      this.monitor.track(target);
      this.schedule(target);
    }
    this.metrics.configReload('success');
    this.logger.info(
      { added: plan.added.length, removed: plan.removed.length, changed: plan.changed.length, unchanged: plan.unchanged.length },
      'config reloaded',
    );
    return plan;
  }

  /** Counts a reload that was refused (the old config keeps running). */
  reloadFailed(): void {
    this.metrics.configReload('failure');
  }

  /**
   * Stops scheduling, lets in-flight probes finish for up to graceMs (then aborts them), delivers
   * nothing more, saves state. Safe to call twice.
   */
  stop(graceMs = 5_000): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('probebot stopping');
      await this.slackApp?.stop();
      await this.scheduler.stop(graceMs);
      this.probes.close();
      await this.engine.stop(graceMs);
      await this.store.close();
      await this.server.close();
      this.logger.info('probebot stopped');
    })();
    return this.stopping;
  }

  /** Keeps the notifier instances whose settings did not change, so their state (log streaks) survives. */
  private async rebuildNotifiers(next: Config): Promise<Map<string, Notifier>> {
    const fresh = await buildNotifiers(next, { logger: this.logger, memos: this.memos, clock: this.clock });
    const kept = new Map<string, Notifier>();
    for (const [name, notifier] of fresh) {
      const unchanged =
        isDeepStrictEqual(this.currentConfig.notifiers[name], next.notifiers[name]) &&
        (next.notifiers[name]?.type !== 'slack' || isDeepStrictEqual(this.currentConfig.slack, next.slack));
      const old = this.notifiers.get(name);
      if (unchanged && old) {
        kept.set(name, old);
        void notifier.close?.();
      } else kept.set(name, notifier);
    }
    for (const [name, old] of this.notifiers) if (kept.get(name) !== old) void old.close?.();
    return kept;
  }

  private schedule(target: Target): void {
    const job = {
      name: target.name,
      intervalMs: target.interval,
      timeoutMs: target.timeout,
      // ICMP echoes due in the same moment share one fping process; coarse phases make them coincide.
      phaseStepMs: target.type === 'icmp' ? ICMP_PHASE_STEP_MS : 1,
      run: async (signal: AbortSignal) => {
        const result = await this.probes.run(target, signal);
        if (signal.aborted && !isDeadline(signal)) return; // shutting down: not a real result
        return this.recordResult(target, result);
      },
    };
    const calendar = target.schedule === undefined ? {} : target.timezone === undefined ? { schedule: target.schedule } : { schedule: target.schedule, timezone: target.timezone };
    this.scheduler.add({ ...job, ...calendar });
  }

  private recordResult(target: Target, result: ProbeResult): { nextRunInMs?: number } {
    const { events, nextRunInMs } = this.monitor.record(target, result);
    this.metrics.probeResult(target, result);
    for (const event of events) this.metrics.transition(event);
    const fields = { target: target.name, ok: result.ok, latencyMs: round(result.latencyMs) };
    if (result.ok) this.logger.debug(fields, 'probe ok');
    else this.logger.debug({ ...fields, error: result.error }, 'probe failed');
    if (events.length > 0) this.logger.debug({ target: target.name, events: events.length }, 'transition');
    return nextRunInMs === undefined ? {} : { nextRunInMs };
  }
}

async function buildNotifiers(config: Config, deps: Omit<NotifierDeps, 'slack' | 'slackActions'>): Promise<Map<string, Notifier>> {
  const createNotifier = await loadNotifierFactories(Object.values(config.notifiers).map((notifier) => notifier.type));
  // Alert buttons only where the Slack app runs to answer them.
  const slackActions = config.slack && slackAppMode(config.slack) ? (await import('./slack/buttons.js')).alertButtons() : undefined;
  const slackDeps = config.slack ? { ...deps, slack: config.slack, ...(slackActions ? { slackActions } : {}) } : deps;
  const notifiers = new Map<string, Notifier>();
  for (const [name, notifierConfig] of Object.entries(config.notifiers)) notifiers.set(name, createNotifier(name, notifierConfig, slackDeps));
  return notifiers;
}

async function startSlackIfConfigured(config: Config, deps: Omit<SlackBotPortDeps, 'config'> & { bot: Bot; server: HttpServer; clock: Clock }): Promise<SlackApp | undefined> {
  if (!config.slack || !slackAppMode(config.slack)) return undefined;
  const [{ startSlackApp }, { createSlackBotPort }] = await Promise.all([import('./slack/app.js'), import('./slack/bot-port.js')]);
  const port = createSlackBotPort({ ...deps, config: () => deps.bot.config });
  return startSlackApp({
    config: config.slack,
    port,
    server: deps.server,
    logger: deps.logger,
    clock: deps.clock,
    // On-demand probes get a share of the cap so a burst of commands cannot crowd out the schedule.
    maxConcurrentProbes: Math.max(1, Math.min(8, Math.floor(config.maxConcurrentProbes / 4))),
  });
}

function warnAboutBacktracking(logger: Logger, targets: Target[]): void {
  for (const { target, field, pattern } of patternsWithoutFallback(targets)) {
    logger.warn({ target, field, pattern }, 'pattern cannot fall back to linear-time matching: a reply can make it backtrack for a long time');
  }
}

/** States of targets no longer in the config are not kept forever. */
function dropForgottenTargets(monitor: Monitor, targets: Target[]): void {
  const names = new Set(targets.map((target) => target.name));
  for (const status of [...monitor.all()]) if (!names.has(status.target)) monitor.untrack(status.target);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
