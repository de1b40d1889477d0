/**
 * A small world for the Slack app's tests: the real app on a real HttpServer (127.0.0.1, any
 * port), the fake Slack Web API, a response_url recorder, and a port backed by real probes
 * against real local targets, with statuses from the real state machine and real silences.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { SilenceApi } from '../../src/alerts/delivery.js';
import { SilenceStore } from '../../src/alerts/silences.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { slackSchema, type Target } from '../../src/config/schema.js';
import { HttpServer } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/log.js';
import { initialStatus, step } from '../../src/monitor/state-machine.js';
import type { TargetStatus } from '../../src/monitor/types.js';
import { createProbes, type ProbeRegistry } from '../../src/probes/index.js';
import type { ProbeResult } from '../../src/probes/types.js';
import type { ResolveHost } from '../../src/slack/adhoc-guard.js';
import { startSlackApp, type SlackApp } from '../../src/slack/app.js';
import type { AcknowledgeOutcome, SlackBotPort, SlackUser } from '../../src/slack/port.js';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from '../fakes/slack-api.js';
import { FakeSlackClient, startResponseRecorder, type ResponseRecorder } from '../fakes/slack-client.js';
import { configuredTarget } from '../fakes/targets.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

/** The bot as the Slack app sees it: real probes, the real state machine, real silences. */
export class TestPort implements SlackBotPort {
  readonly statuses = new Map<string, TargetStatus>();
  readonly probed: Target[] = [];
  readonly acknowledged: Array<{ target: string; incidentId: string; by: SlackUser }> = [];
  acknowledgeOutcome: AcknowledgeOutcome = { pagerDuty: [] };
  readonly acknowledgements: Array<{ incidentId: string; note: string }> = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    public targetList: Target[],
    readonly silences: SilenceApi,
    private readonly registry: ProbeRegistry,
  ) {}

  targets(): readonly Target[] {
    return this.targetList;
  }

  statusOf(name: string): TargetStatus | undefined {
    return this.statuses.get(name);
  }

  async probe(target: Target, signal: AbortSignal): Promise<ProbeResult> {
    this.probed.push(target);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.registry.runWithDeadline(target, signal);
    } finally {
      this.inFlight--;
    }
  }

  async acknowledge(target: string, incidentId: string, by: SlackUser): Promise<AcknowledgeOutcome> {
    this.acknowledged.push({ target, incidentId, by });
    return this.acknowledgeOutcome;
  }

  recordAcknowledgement(incidentId: string, note: string): void {
    this.acknowledgements.push({ incidentId, note });
  }

  /** A scheduled probe, as the bot records it: through the state machine. */
  async scheduledProbe(name: string, now = Date.now()): Promise<TargetStatus> {
    const target = this.targetList.find((candidate) => candidate.name === name)!;
    const result = await this.registry.runWithDeadline(target);
    return this.record(target, result, now);
  }

  record(target: Target, result: ProbeResult, now = Date.now()): TargetStatus {
    const { status } = step(this.statuses.get(target.name) ?? initialStatus(target.name, now), result, target, now);
    this.statuses.set(target.name, status);
    return status;
  }
}

export interface HarnessOptions {
  slack?: Record<string, unknown>;
  targets?: Target[];
  resolveHost?: ResolveHost;
  fakeSlack?: FakeSlackOptions;
  maxConcurrentProbes?: number;
  clock?: Clock;
  reconnectDelayMs?: { first: number; max: number };
}

export interface Harness {
  app: SlackApp;
  client: FakeSlackClient;
  recorder: ResponseRecorder;
  fakeSlack: FakeSlack;
  port: TestPort;
  logs: LogLines;
  /** Posts `/probe <text>` as alice in #ops (or as told) and returns the first answer on response_url. */
  command(text: string, fields?: { user_id?: string; user_name?: string; channel_id?: string }): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'probebot-slack-'));
  const logs = new LogLines();
  const logger = logs.logger();
  const fakeSlack = await startFakeSlack(options.fakeSlack);
  const recorder = await startResponseRecorder();
  const registry = createProbes({ icmp: { fping: null, ping: null }, logger });
  const silences = await SilenceStore.open(join(dir, 'silences.json'), systemClock, logger);
  const port = new TestPort(options.targets ?? [], silences, registry);
  const server = new HttpServer();
  const httpPort = await server.listen('127.0.0.1', 0);
  const config = slackSchema.parse({ botToken: fakeSlack.token, signingSecret: SIGNING_SECRET, apiUrl: fakeSlack.apiUrl, ...options.slack });
  const app = await startSlackApp({
    config,
    port,
    server,
    logger,
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
    ...(options.maxConcurrentProbes ? { maxConcurrentProbes: options.maxConcurrentProbes } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.reconnectDelayMs ? { reconnectDelayMs: options.reconnectDelayMs } : {}),
  });
  const client = new FakeSlackClient(`http://127.0.0.1:${httpPort}/slack/events`, SIGNING_SECRET);
  return {
    app,
    client,
    recorder,
    fakeSlack,
    port,
    logs,
    async command(text, fields = {}) {
      const url = recorder.newUrl();
      const answer = await client.slashCommand({ text, response_url: url, ...fields });
      if (answer.status !== 200) throw new Error(`the app answered HTTP ${answer.status}: ${answer.body}`);
      const [first] = await recorder.waitFor(url);
      return first!;
    },
    async close() {
      await app.stop();
      await server.close();
      registry.close();
      await silences.flush();
      await recorder.close();
      await fakeSlack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Log lines as parsed JSON, for asserting what operators would read. */
export class LogLines {
  readonly lines: Array<Record<string, unknown>> = [];

  logger(): Logger {
    const lines = this.lines;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
        done();
      },
    });
    return createLogger({ level: 'debug', destination: sink, pretty: false });
  }

  /** Lines at warn (40) or above. */
  problems(): Array<Record<string, unknown>> {
    return this.lines.filter((line) => typeof line.level === 'number' && line.level >= 40);
  }

  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
}

/** Every text in a Slack answer (blocks and fallback) as one string, for assertions. */
export function answerText(answer: Record<string, unknown>): string {
  return `${String(answer.text)}\n${JSON.stringify(answer.blocks ?? [])}`;
}

export function httpTarget(name: string, url: string, extra: Record<string, unknown> = {}): Target {
  return configuredTarget({ name, type: 'http', url, timeout: '2s', ...extra });
}

export function tcpTarget(name: string, host: string, port: number, extra: Record<string, unknown> = {}): Target {
  return configuredTarget({ name, type: 'tcp', host, port, timeout: '1s', ...extra });
}
