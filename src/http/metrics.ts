/**
 * Prometheus metrics for GET /metrics (text format 0.0.4).
 *
 * Cardinality, decided for 10,000 targets: only single-number series are kept per target
 * (probe_success, probe_last_duration_seconds, target_state × 3, target_flapping: 6 per target).
 * Duration histograms are per probe type and phase, never per target: a 14-bucket histogram per
 * target measured 220,000 lines, 18 MB and 0.7-1.2 s of blocked event loop per scrape.
 * Transitions count by kind and new state, not by target (target_state already shows who).
 *
 * Cost (bench/metrics-cost.ts): prom-client hashes the label values on every update, even
 * through a cached child (3-5 µs per result for a gauge and five histogram phases), and formats
 * each series at scrape. So the per-result path and the per-target families are plain numbers
 * here, kept in one handle per target (about 150 ns per result) and rendered from pre-escaped
 * label strings, a slice of targets at a time between yields to the event loop, then streamed.
 * prom-client supplies the process metrics (CPU, memory, event loop lag, GC) and the rare event
 * counters.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { Target } from '../config/schema.js';
import type { TargetStatus, TransitionEvent } from '../monitor/types.js';
import type { ProbePhases, ProbeResult } from '../probes/types.js';
import type { RouteHandler } from './server.js';

/** 0.5 ms (a loopback TCP connect) to 10 s (beyond any sane probe timeout). */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Healthy lag is under a millisecond; the health check calls 5 s sustained a failure. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];
const PHASES: ReadonlyArray<readonly [keyof ProbePhases, string]> = [
  ['dns', 'dns'],
  ['connect', 'connect'],
  ['tls', 'tls'],
  ['firstByte', 'first_byte'],
  ['body', 'body'],
];
const STATES = ['UP', 'DOWN', 'UNKNOWN'] as const;
/**
 * prom-client's gauges named like counters (promtool rejects them); the same totals are
 * sum(nodejs_active_handles) and so on, over the by-type gauges that stay.
 */
const MISNAMED_PROCESS_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
/** Targets rendered between two yields: about a millisecond of work. */
const TARGETS_PER_SLICE = 1000;
const PIECE_CHARS = 256 * 1024;

/** What /metrics reads at scrape time; the Bot provides it (statuses() and health()). */
export interface MetricsSource {
  statuses(): readonly TargetStatus[];
  health(): {
    scheduler: { skippedOverrun: number; skippedConcurrency: number };
    outbox: { pending: number; oldestPendingAgeMs: number; sent: Record<string, number>; failed: Record<string, number>; retries: number; givenUp: number };
    state: { failing: boolean; lastFlushAt?: number };
  };
}

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean;
}

/** One bucket histogram without labels of its own: observe is a short loop and three additions. */
class BucketHistogram {
  private readonly counts: Float64Array;
  private readonly bucketLabels: string[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
    this.bucketLabels = [...bounds.map((bound) => `le="${bound}"`), 'le="+Inf"'];
  }

  get observed(): boolean {
    return this.count > 0;
  }

  observe(value: number): void {
    // A probe's bug (NaN) must not poison the sum for good.
    if (!Number.isFinite(value)) return;
    let index = 0;
    for (const bound of this.bounds) {
      if (value <= bound) break;
      index++;
    }
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }

  render(name: string, labels: string, out: string[]): void {
    const prefix = labels === '' ? '{' : `{${labels},`;
    const suffix = labels === '' ? '' : `{${labels}}`;
    let cumulative = 0;
    for (const [index, le] of this.bucketLabels.entries()) {
      cumulative += this.counts[index] ?? 0;
      out.push(`${name}_bucket${prefix}${le}} ${cumulative}`);
    }
    out.push(`${name}_sum${suffix} ${formatNumber(this.sum)}`, `${name}_count${suffix} ${this.count}`);
  }
}

/** The duration histograms of one probe type: the whole probe, and each phase in PHASES order. */
interface TypeDurations {
  total: BucketHistogram;
  phases: BucketHistogram[];
}

/** Everything kept per target, so recording a result is a Map lookup and a few stores. */
interface TargetSeries {
  type: string;
  /** `target="…",type="…"`, escaped once. */
  labels: string;
  success: number;
  lastDurationSeconds: number;
  durations: TypeDurations;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly targets = new Map<string, TargetSeries>();
  private readonly durationsByType = new Map<string, TypeDurations>();
  private readonly lag = new BucketHistogram(LAG_BUCKETS);
  private readonly transitions: Counter<'kind' | 'to'>;
  private readonly configReloads: Counter<'result'>;

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of MISNAMED_PROCESS_METRICS) this.registry.removeSingleMetric(name);
    }
    this.transitions = new Counter({
      name: 'probebot_transitions_total',
      help: 'Announced state changes of targets, by kind (state, flapping, flapping-ended) and new state.',
      labelNames: ['kind', 'to'],
      registers: [this.registry],
    });
    for (const to of ['UP', 'DOWN']) this.transitions.inc({ kind: 'state', to }, 0);
    this.configReloads = new Counter({
      name: 'probebot_config_reloads_total',
      help: 'Configuration reloads, by result (success, failure).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    for (const result of ['success', 'failure']) this.configReloads.inc({ result }, 0);
  }

  /** Records one scheduled probe's result; O(1), called about 1,000 times a second at full scale. */
  probeResult(target: Target, result: ProbeResult): void {
    let series = this.targets.get(target.name);
    if (series === undefined || series.type !== target.type) series = this.trackTarget(target);
    series.success = result.ok ? 1 : 0;
    const seconds = result.latencyMs / 1000;
    series.lastDurationSeconds = seconds;
    // Failed probes count too: the histograms show how long probes hold a concurrency slot.
    series.durations.total.observe(seconds);
    const phases = result.phases;
    if (phases === undefined) return;
    // Spelled out rather than looped over PHASES: this runs a thousand times a second.
    const [dns, connect, tls, firstByte, body] = series.durations.phases;
    if (phases.dns !== undefined) dns?.observe(phases.dns / 1000);
    if (phases.connect !== undefined) connect?.observe(phases.connect / 1000);
    if (phases.tls !== undefined) tls?.observe(phases.tls / 1000);
    if (phases.firstByte !== undefined) firstByte?.observe(phases.firstByte / 1000);
    if (phases.body !== undefined) body?.observe(phases.body / 1000);
  }

  /** A target left the config: its per-target series go (its type's histograms stay). */
  removeTarget(name: string): void {
    this.targets.delete(name);
  }

  transition(event: TransitionEvent): void {
    this.transitions.inc({ kind: event.kind, to: event.to });
  }

  /** From the scheduler's onLag hook: actual start minus scheduled time of each run. */
  schedulerLag(lagMs: number): void {
    // A timer may fire a fraction of a millisecond early; a histogram's sum must not go down.
    this.lag.observe(Math.max(0, lagMs) / 1000);
  }

  configReload(result: 'success' | 'failure'): void {
    this.configReloads.inc({ result });
  }

  /**
   * The whole exposition (process metrics, the bot's counters, the per-target families) in pieces
   * of whole lines, each ending with a newline: a few MB at 10,000 targets, so the route streams
   * the pieces rather than joining them (one join and encode blocked the event loop ~20 ms).
   */
  async exposition(source: MetricsSource): Promise<string[]> {
    const health = source.health();
    const statuses = source.statuses();
    const out: string[] = [];
    this.renderReadAtScrape(health, out);
    this.renderHistograms(out);
    await this.renderTargets(statuses, out);
    return [await this.registry.metrics(), ...out.map((piece) => `${piece}\n`)];
  }

  private trackTarget(target: Target): TargetSeries {
    let durations = this.durationsByType.get(target.type);
    if (durations === undefined) {
      durations = { total: new BucketHistogram(DURATION_BUCKETS), phases: PHASES.map(() => new BucketHistogram(DURATION_BUCKETS)) };
      this.durationsByType.set(target.type, durations);
    }
    const series = {
      type: target.type,
      labels: `target="${escapeLabel(target.name)}",type="${escapeLabel(target.type)}"`,
      success: 0,
      lastDurationSeconds: 0,
      durations,
    };
    this.targets.set(target.name, series);
    return series;
  }

  private renderReadAtScrape(health: ReturnType<MetricsSource['health']>, out: string[]): void {
    const { outbox, scheduler, state } = health;
    const sent: string[] = [];
    for (const [result, counts] of [['delivered', outbox.sent], ['failed', outbox.failed]] as const) {
      for (const [notifier, count] of Object.entries(counts)) sent.push(`probebot_alerts_sent_total{notifier="${escapeLabel(notifier)}",result="${result}"} ${count}`);
    }
    family(out, 'probebot_alerts_sent_total', 'counter', 'Alerts that left the outbox, by notifier and result (delivered; failed = refused or given up).', sent);
    family(out, 'probebot_alerts_given_up_total', 'counter', 'Alerts abandoned after retrying for delivery.giveUpAfter (all notifiers).', [`probebot_alerts_given_up_total ${outbox.givenUp}`]);
    family(out, 'probebot_alert_retries_total', 'counter', 'Delivery attempts that failed and were retried (all notifiers).', [`probebot_alert_retries_total ${outbox.retries}`]);
    family(out, 'probebot_outbox_pending', 'gauge', 'Undelivered alerts plus events waiting in a group window or a dependency hold.', [`probebot_outbox_pending ${outbox.pending}`]);
    family(out, 'probebot_outbox_oldest_pending_seconds', 'gauge', 'Age of the oldest undelivered alert or held event; 0 when none.', [
      `probebot_outbox_oldest_pending_seconds ${formatNumber(outbox.oldestPendingAgeMs / 1000)}`,
    ]);
    family(out, 'probebot_probes_skipped_total', 'counter', 'Scheduled probe runs not started, by reason (overrun: the previous run still going; concurrency).', [
      `probebot_probes_skipped_total{reason="overrun"} ${scheduler.skippedOverrun}`,
      `probebot_probes_skipped_total{reason="concurrency"} ${scheduler.skippedConcurrency}`,
    ]);
    family(out, 'probebot_state_store_failing', 'gauge', '1 while target states cannot be saved (kept in memory, retried every flush).', [
      `probebot_state_store_failing ${state.failing ? 1 : 0}`,
    ]);
    if (state.lastFlushAt !== undefined) {
      family(out, 'probebot_state_store_last_flush_timestamp_seconds', 'gauge', 'When the last successful save of target states began, Unix seconds.', [
        `probebot_state_store_last_flush_timestamp_seconds ${formatNumber(state.lastFlushAt / 1000)}`,
      ]);
    }
  }

  private renderHistograms(out: string[]): void {
    const lines: string[] = [];
    for (const [type, durations] of this.durationsByType) {
      const byPhase: Array<readonly [string, BucketHistogram | undefined]> = [['total', durations.total], ...PHASES.map(([, phase], index) => [phase, durations.phases[index]] as const)];
      for (const [phase, histogram] of byPhase) {
        if (histogram?.observed) histogram.render('probebot_probe_duration_seconds', `type="${escapeLabel(type)}",phase="${phase}"`, lines);
      }
    }
    family(out, 'probebot_probe_duration_seconds', 'histogram', 'Probe durations by probe type and phase (total, dns, connect, tls, first_byte, body); failed probes included.', lines);
    const lag: string[] = [];
    this.lag.render('probebot_scheduler_lag_seconds', '', lag);
    family(out, 'probebot_scheduler_lag_seconds', 'histogram', 'How late each probe run started after its scheduled time.', lag);
  }

  /** Each family is built a slice of targets at a time, each slice joined at once into one piece. */
  private async renderTargets(statuses: readonly TargetStatus[], out: string[]): Promise<void> {
    const success = new SlicedLines();
    const duration = new SlicedLines();
    const state = new SlicedLines();
    const flapping = new SlicedLines();
    let rendered = 0;
    for (const series of this.targets.values()) {
      success.push(`probebot_probe_success{${series.labels}} ${series.success}`);
      duration.push(`probebot_probe_last_duration_seconds{${series.labels}} ${formatNumber(series.lastDurationSeconds)}`);
      if (++rendered % TARGETS_PER_SLICE === 0) await yieldToEventLoop();
    }
    for (const status of statuses) {
      const target = `target="${escapeLabel(status.target)}"`;
      for (const name of STATES) state.push(`probebot_target_state{${target},state="${name}"} ${status.state === name ? 1 : 0}`);
      flapping.push(`probebot_target_flapping{${target}} ${status.flapping ? 1 : 0}`);
      if (++rendered % TARGETS_PER_SLICE === 0) await yieldToEventLoop();
    }
    out.push(header('probebot_probe_success', 'gauge', 'Whether the last probe of the target succeeded (1) or failed (0).'), ...success.slices());
    out.push(header('probebot_probe_last_duration_seconds', 'gauge', 'How long the last probe of the target took.'), ...duration.slices());
    out.push(header('probebot_target_state', 'gauge', 'The confirmed state of the target: 1 for the current one of UP, DOWN, UNKNOWN.'), ...state.slices());
    out.push(header('probebot_target_flapping', 'gauge', 'Whether the target is flapping (1) or not (0).'), ...flapping.slices());
  }
}

/** The GET /metrics route: the exposition, gzipped when the scraper accepts it (Prometheus does). */
export function metricsRoute(metrics: Metrics, source: MetricsSource): RouteHandler {
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      response.end();
      return;
    }
    const pieces = await metrics.exposition(source);
    const gzipped = acceptsGzip(request);
    const headers: Record<string, string> = { 'content-type': metrics.contentType, vary: 'accept-encoding' };
    if (gzipped) headers['content-encoding'] = 'gzip';
    response.writeHead(200, headers);
    if (request.method === 'HEAD') return void response.end();
    // Streamed with backpressure; zlib compresses on the thread pool. A scraper that hangs up
    // ends the pipeline with an error, which the server logs.
    const body = Readable.from(pieces);
    await (gzipped ? pipeline(body, createGzip(), response) : pipeline(body, response));
  };
}

/**
 * Lines joined into pieces of PIECE_CHARS as they come: joining 60,000 lines at once blocks the
 * event loop, and pieces this big live outside V8's young generation, so the GCs that a scrape
 * triggers do not copy them (measured: about half the longest pause of 1,000-line pieces).
 */
class SlicedLines {
  private readonly joined: string[] = [];
  private lines: string[] = [];
  private chars = 0;

  push(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= PIECE_CHARS) this.cut();
  }

  slices(): string[] {
    this.cut();
    return this.joined;
  }

  private cut(): void {
    if (this.lines.length > 0) this.joined.push(this.lines.join('\n'));
    this.lines = [];
    this.chars = 0;
  }
}

type MetricType = 'counter' | 'gauge' | 'histogram';

function header(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}`;
}

/** A small family as one piece of out. */
function family(out: string[], name: string, type: MetricType, help: string, lines: string[]): void {
  out.push([header(name, type, help), ...lines].join('\n'));
}

function acceptsGzip(request: IncomingMessage): boolean {
  return /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
}

/** Label values escape backslash, double quote and newline (the text format's rule). */
function escapeLabel(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** Go's float syntax, which the text format uses: NaN, +Inf, -Inf, else JavaScript's. */
function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
