/** A small world for the delivery engine's tests: fake clock, real files in a temp dir, in-test notifiers. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AlertEngine, type AlertEngineOptions } from '../../src/alerts/delivery.js';
import type { DurableMemoStore } from '../../src/alerts/memos.js';
import type { Alert, AlertEvent, DeliveryOutcome, Notifier } from '../../src/alerts/notifier.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { configSchema, type Config, type NotifierType, type Target } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { TargetStatus, TransitionEvent } from '../../src/monitor/types.js';
import { FakeClock } from '../fakes/clock.js';

/** A config from rules.yaml-shaped input (durations as strings), validated and resolved like the real one. */
export function makeConfig(raw: Record<string, unknown>): Config {
  return resolveConfig(configSchema.parse(raw));
}

/** Targets tcp-<name> on loopback, with whatever else a test sets. */
export function tcpTargets(names: readonly string[], extra: Record<string, unknown> = {}): Record<string, unknown>[] {
  return names.map((name, index) => ({ name, type: 'tcp', host: '127.0.0.1', port: 10_000 + index, ...extra }));
}

type Behaviour = DeliveryOutcome | 'hang';

/** A notifier that records what reaches it and answers from a script (then "delivered"). */
export class TestNotifier implements Notifier {
  readonly delivered: Alert[] = [];
  readonly attempts: { alert: Alert; at: number }[] = [];
  readonly script: Behaviour[] = [];
  /** Answer every attempt with this once the script is used up (default: delivered). */
  always: Behaviour | undefined;

  constructor(
    readonly name: string,
    readonly type: NotifierType,
    readonly groupsEvents: boolean,
    private readonly clock: FakeClock,
  ) {}

  deliver(alert: Alert, signal: AbortSignal): Promise<DeliveryOutcome> {
    this.attempts.push({ alert: structuredClone(alert), at: this.clock.now() });
    const behaviour = this.script.shift() ?? this.always ?? { status: 'delivered' };
    if (behaviour === 'hang') {
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 'retry', error: 'aborted' }), { once: true }));
    }
    if (behaviour.status === 'delivered') this.delivered.push(structuredClone(alert));
    return Promise.resolve(behaviour);
  }

  /** Every delivered event, in order. */
  events(): AlertEvent[] {
    return this.delivered.flatMap((alert) => alert.events);
  }

  /** "target:to" of every delivered event, in order. */
  transitions(): string[] {
    return this.events().map((event) => `${event.target}:${event.to}`);
  }
}

export function failing(times: number, outcome: DeliveryOutcome = { status: 'retry', error: 'connect ECONNREFUSED 127.0.0.1:9' }): Behaviour[] {
  return Array.from({ length: times }, () => outcome);
}

/** Log lines as parsed JSON objects. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', pretty: false, destination }), lines };
}

export function upStatus(target: string, over: Partial<TargetStatus> = {}): TargetStatus {
  return {
    target,
    state: 'UP',
    since: 0,
    consecutiveFailures: 0,
    consecutiveSuccesses: 5,
    history: [],
    flapping: false,
    flapPercent: 0,
    announced: 'UP',
    recentLatencies: [],
    ...over,
  };
}

let incidents = 0;

export interface WorldOptions {
  notifiers: Notifier[];
  /** The store the notifiers were given; the engine opens its own when absent. */
  memos?: DurableMemoStore;
  random?: () => number;
  dir?: string;
  clock?: FakeClock;
  statuses?: Map<string, TargetStatus>;
  logger?: Logger;
}

/** The engine and what it sees: a status table the test drives, as the state machine would. */
export class World {
  private constructor(
    readonly engine: AlertEngine,
    readonly clock: FakeClock,
    readonly dir: string,
    readonly config: Config,
    readonly statuses: Map<string, TargetStatus>,
    readonly notifiers: Notifier[],
  ) {}

  static async open(config: Config, options: WorldOptions): Promise<World> {
    const clock = options.clock ?? new FakeClock();
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'probebot-alerts-')));
    const statuses = options.statuses ?? new Map(config.targets.map((target) => [target.name, upStatus(target.name)]));
    const engineOptions: AlertEngineOptions = {
      config,
      notifiers: new Map(options.notifiers.map((notifier) => [notifier.name, notifier])),
      stateDir: dir,
      clock,
      logger: options.logger ?? capturingLogger().logger,
      statusOf: (name) => statuses.get(name),
      random: options.random ?? (() => 0.5),
    };
    if (options.memos !== undefined) engineOptions.memos = options.memos;
    const engine = await AlertEngine.open(engineOptions);
    return new World(engine, clock, dir, config, statuses, options.notifiers);
  }

  target(name: string): Target {
    const target = this.config.targets.find((candidate) => candidate.name === name);
    if (target === undefined) throw new Error(`no target ${name}`);
    return target;
  }

  status(name: string): TargetStatus {
    return this.statuses.get(name) ?? upStatus(name);
  }

  /** The state machine notices failures that are not yet a confirmed DOWN. */
  failing(name: string, failures = 1): void {
    const status = this.status(name);
    this.statuses.set(name, { ...status, consecutiveFailures: failures, consecutiveSuccesses: 0, lastResult: this.result(false) });
  }

  /** The state machine confirms a DOWN and publishes it. */
  goDown(name: string, publish = true): TransitionEvent {
    const status = this.status(name);
    const now = this.clock.now();
    const incident = { id: `incident-${++incidents}`, since: now };
    const result = this.result(false);
    this.statuses.set(name, { ...status, state: 'DOWN', since: now, announced: 'DOWN', incident, consecutiveFailures: 3, consecutiveSuccesses: 0, lastResult: result });
    const event: TransitionEvent = { target: name, kind: 'state', from: status.announced, to: 'DOWN', at: now, result, reason: '3 consecutive failures: connect ECONNREFUSED', incidentId: incident.id };
    if (publish) this.engine.publish([event], this.target(name));
    return event;
  }

  /** The state machine confirms a recovery and publishes it. */
  recover(name: string, publish = true): TransitionEvent {
    const status = this.status(name);
    const now = this.clock.now();
    const result = this.result(true);
    const { incident, ...rest } = status;
    this.statuses.set(name, { ...rest, state: 'UP', since: now, announced: 'UP', consecutiveFailures: 0, consecutiveSuccesses: 2, lastResult: result });
    const event: TransitionEvent = { target: name, kind: 'state', from: status.announced, to: 'UP', at: now, result, reason: '2 consecutive successes' };
    if (incident !== undefined) {
      event.incidentId = incident.id;
      event.downForMs = now - incident.since;
    }
    if (publish) this.engine.publish([event], this.target(name));
    return event;
  }

  /** Lets fake time pass and waits for the real disk work it caused. */
  async settle(ms = 0, step = ms): Promise<void> {
    const end = this.clock.now() + ms;
    await this.engine.idle();
    for (let guard = 0; guard < 100_000; guard++) {
      const next = Math.min(step > 0 ? step : ms, end - this.clock.now());
      await this.clock.advance(Math.max(0, next));
      await this.engine.idle();
      if (this.clock.now() >= end) break;
    }
  }

  async close(): Promise<void> {
    await this.engine.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private result(ok: boolean) {
    return ok
      ? { ok: true, latencyMs: 2, at: this.clock.now() }
      : { ok: false, latencyMs: 1, at: this.clock.now(), error: 'connect ECONNREFUSED 127.0.0.1:10000' };
  }
}
