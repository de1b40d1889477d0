import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { resolveConfig } from '../../src/config/resolve.js';
import { configSchema, type Target } from '../../src/config/schema.js';
import { Metrics, metricsRoute, type MetricsSource } from '../../src/http/metrics.js';
import { HttpServer } from '../../src/http/server.js';
import type { TargetStatus, TransitionEvent } from '../../src/monitor/types.js';
import type { ProbeResult } from '../../src/probes/types.js';

const { targets } = resolveConfig(
  configSchema.parse({
    targets: [
      { name: 'web', type: 'http', url: 'http://127.0.0.1:8080/' },
      { name: 'db', type: 'tcp', host: '127.0.0.1', port: 5432 },
      { name: 'gw', type: 'icmp', host: '127.0.0.1' },
    ],
  }),
);
const target = (name: string): Target => {
  const found = targets.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no target ${name}`);
  return found;
};

const ok = (latencyMs: number, phases?: ProbeResult['phases']): ProbeResult => (phases === undefined ? { ok: true, latencyMs, at: 0 } : { ok: true, latencyMs, at: 0, phases });
const failed = (latencyMs: number): ProbeResult => ({ ok: false, latencyMs, at: 0, error: 'connect ECONNREFUSED 127.0.0.1:5432' });

function status(name: string, over: Partial<TargetStatus> = {}): TargetStatus {
  return {
    target: name,
    state: 'UP',
    since: 0,
    consecutiveFailures: 0,
    consecutiveSuccesses: 2,
    history: [],
    flapping: false,
    flapPercent: 0,
    announced: 'UP',
    recentLatencies: [],
    ...over,
  };
}

/** A bot as /metrics sees it; tests change the fields between scrapes. */
class FakeSource implements MetricsSource {
  statusList: TargetStatus[] = targets.map((each) => status(each.name));
  outbox = { pending: 0, oldestPendingAgeMs: 0, sent: {} as Record<string, number>, failed: {} as Record<string, number>, retries: 0, givenUp: 0 };
  scheduler = { skippedOverrun: 0, skippedConcurrency: 0 };
  state: { failing: boolean; lastFlushAt?: number } = { failing: false };

  statuses(): TargetStatus[] {
    return this.statusList;
  }

  health(): ReturnType<MetricsSource['health']> {
    return { scheduler: this.scheduler, outbox: this.outbox, state: this.state };
  }
}

/** Every sample of an exposition, keyed by its series as written (name{labels}). */
async function scrape(metrics: Metrics, source: MetricsSource): Promise<{ text: string; samples: Map<string, number> }> {
  const text = (await metrics.exposition(source)).join('');
  return { text, samples: parseSamples(text) };
}

function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function transition(name: string, to: TransitionEvent['to'], kind: TransitionEvent['kind'] = 'state'): TransitionEvent {
  return { target: name, kind, from: 'UP', to, at: 0, result: failed(1), reason: '3 consecutive failures' };
}

/** A bot with a bit of everything recorded. */
function populated(): { metrics: Metrics; source: FakeSource } {
  const metrics = new Metrics();
  const source = new FakeSource();
  metrics.probeResult(target('web'), ok(42.5, { dns: 0.4, connect: 1.2, firstByte: 30, body: 10 }));
  metrics.probeResult(target('db'), failed(0.3));
  metrics.probeResult(target('gw'), ok(0.08));
  metrics.transition(transition('db', 'DOWN'));
  metrics.schedulerLag(0.6);
  metrics.schedulerLag(-0.2);
  metrics.configReload('success');
  source.statusList = [status('web'), status('db', { state: 'DOWN', flapping: true }), status('gw', { state: 'UNKNOWN' })];
  source.outbox = { pending: 2, oldestPendingAgeMs: 12_500, sent: { slack: 7 }, failed: { pagerduty: 1 }, retries: 3, givenUp: 1 };
  source.scheduler = { skippedOverrun: 4, skippedConcurrency: 1 };
  source.state = { failing: true, lastFlushAt: Date.UTC(2026, 0, 1) };
  return { metrics, source };
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const promtoolMissing = promtool.error === undefined ? false : 'promtool is not installed (Debian package "prometheus"); CI installs it';

describe('metrics exposition', () => {
  it('passes promtool check metrics when populated', { skip: promtoolMissing }, async () => {
    const { metrics, source } = populated();
    const { text } = await scrape(metrics, source);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
    assert.equal(check.status, 0, `promtool check metrics failed:\n${check.stdout}${check.stderr}`);
  });

  it('is rejected by promtool when a counter breaks the naming rules (the check above can fail)', { skip: promtoolMissing }, () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: '# HELP probebot_alerts x\n# TYPE probebot_alerts counter\nprobebot_alerts 1\n', encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(check.status, 0);
  });

  it('declares every family once, with its type, and carries the process metrics', async () => {
    const { metrics, source } = populated();
    const { text } = await scrape(metrics, source);
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => `${match[1]} ${match[2]}`);
    assert.equal(new Set(types).size, types.length, 'a family is declared twice');
    for (const expected of [
      'probebot_probe_success gauge',
      'probebot_probe_last_duration_seconds gauge',
      'probebot_probe_duration_seconds histogram',
      'probebot_target_state gauge',
      'probebot_target_flapping gauge',
      'probebot_transitions_total counter',
      'probebot_alerts_sent_total counter',
      'probebot_outbox_pending gauge',
      'probebot_probes_skipped_total counter',
      'probebot_config_reloads_total counter',
      'probebot_scheduler_lag_seconds histogram',
      'probebot_state_store_failing gauge',
      'process_cpu_seconds_total counter',
      'process_resident_memory_bytes gauge',
      'nodejs_eventloop_lag_seconds gauge',
    ]) {
      assert.ok(types.includes(expected), `missing # TYPE ${expected}`);
    }
  });

  it('reads the outbox, scheduler and state store at scrape time', async () => {
    const { metrics, source } = populated();
    const { samples } = await scrape(metrics, source);
    assert.equal(samples.get('probebot_alerts_sent_total{notifier="slack",result="delivered"}'), 7);
    assert.equal(samples.get('probebot_alerts_sent_total{notifier="pagerduty",result="failed"}'), 1);
    assert.equal(samples.get('probebot_alerts_given_up_total'), 1);
    assert.equal(samples.get('probebot_alert_retries_total'), 3);
    assert.equal(samples.get('probebot_outbox_pending'), 2);
    assert.equal(samples.get('probebot_outbox_oldest_pending_seconds'), 12.5);
    assert.equal(samples.get('probebot_probes_skipped_total{reason="overrun"}'), 4);
    assert.equal(samples.get('probebot_probes_skipped_total{reason="concurrency"}'), 1);
    assert.equal(samples.get('probebot_state_store_failing'), 1);
    assert.equal(samples.get('probebot_state_store_last_flush_timestamp_seconds'), Date.UTC(2026, 0, 1) / 1000);
    source.state = { failing: false };
    source.outbox.pending = 0;
    const later = await scrape(metrics, source);
    assert.equal(later.samples.get('probebot_state_store_failing'), 0);
    assert.equal(later.samples.get('probebot_outbox_pending'), 0);
  });

  it('shows each target state as 1 for the current one and 0 for the others', async () => {
    const { metrics, source } = populated();
    const { samples } = await scrape(metrics, source);
    assert.equal(samples.get('probebot_target_state{target="db",state="DOWN"}'), 1);
    assert.equal(samples.get('probebot_target_state{target="db",state="UP"}'), 0);
    assert.equal(samples.get('probebot_target_state{target="db",state="UNKNOWN"}'), 0);
    assert.equal(samples.get('probebot_target_state{target="gw",state="UNKNOWN"}'), 1);
    assert.equal(samples.get('probebot_target_flapping{target="db"}'), 1);
    assert.equal(samples.get('probebot_target_flapping{target="web"}'), 0);
  });
});

describe('metrics follow events', () => {
  it('sets probe_success to 0 on a failed result and back to 1 on a good one', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const source = new FakeSource();
    metrics.probeResult(target('web'), ok(12));
    assert.equal((await scrape(metrics, source)).samples.get('probebot_probe_success{target="web",type="http"}'), 1);
    metrics.probeResult(target('web'), failed(3000));
    const { samples } = await scrape(metrics, source);
    assert.equal(samples.get('probebot_probe_success{target="web",type="http"}'), 0);
    assert.equal(samples.get('probebot_probe_last_duration_seconds{target="web",type="http"}'), 3);
    metrics.probeResult(target('web'), ok(12));
    assert.equal((await scrape(metrics, source)).samples.get('probebot_probe_success{target="web",type="http"}'), 1);
  });

  it('counts transitions by kind and new state', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const source = new FakeSource();
    assert.equal((await scrape(metrics, source)).samples.get('probebot_transitions_total{kind="state",to="DOWN"}'), 0);
    metrics.transition(transition('db', 'DOWN'));
    metrics.transition(transition('web', 'DOWN'));
    metrics.transition(transition('web', 'FLAPPING', 'flapping'));
    const { samples } = await scrape(metrics, source);
    assert.equal(samples.get('probebot_transitions_total{kind="state",to="DOWN"}'), 2);
    assert.equal(samples.get('probebot_transitions_total{kind="flapping",to="FLAPPING"}'), 1);
    assert.equal(samples.get('probebot_transitions_total{kind="state",to="UP"}'), 0);
  });

  it('drops the series of a removed target and keeps the others', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const source = new FakeSource();
    metrics.probeResult(target('web'), ok(12));
    metrics.probeResult(target('db'), ok(1));
    metrics.removeTarget('db');
    source.statusList = [status('web')];
    const { text, samples } = await scrape(metrics, source);
    assert.doesNotMatch(text, /target="db"/);
    assert.equal(samples.get('probebot_probe_success{target="web",type="http"}'), 1);
  });

  it('puts durations into per-type histograms by phase, failed probes included', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const source = new FakeSource();
    metrics.probeResult(target('web'), ok(42, { dns: 0.4, connect: 2, firstByte: 30, body: 9.6 }));
    metrics.probeResult(target('web'), failed(3000));
    const { samples } = await scrape(metrics, source);
    const bucket = (phase: string, le: string) => samples.get(`probebot_probe_duration_seconds_bucket{type="http",phase="${phase}",le="${le}"}`);
    assert.equal(samples.get('probebot_probe_duration_seconds_count{type="http",phase="total"}'), 2);
    assert.equal(samples.get('probebot_probe_duration_seconds_sum{type="http",phase="total"}'), 3.042);
    assert.equal(bucket('total', '0.05'), 1);
    assert.equal(bucket('total', '2.5'), 1);
    assert.equal(bucket('total', '5'), 2);
    assert.equal(bucket('connect', '0.001'), 0);
    assert.equal(bucket('connect', '0.0025'), 1);
    assert.equal(bucket('dns', '0.0005'), 1);
    assert.equal(samples.get('probebot_probe_duration_seconds_count{type="http",phase="first_byte"}'), 1);
    assert.equal(samples.get('probebot_probe_duration_seconds_count{type="http",phase="tls"}'), undefined, 'a phase never measured has no series');
  });

  it('keeps a histogram sum usable when a probe reports a non-finite latency', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.probeResult(target('db'), ok(Number.NaN));
    metrics.probeResult(target('db'), ok(2));
    const { samples } = await scrape(metrics, new FakeSource());
    assert.equal(samples.get('probebot_probe_duration_seconds_sum{type="tcp",phase="total"}'), 0.002);
    assert.equal(samples.get('probebot_probe_duration_seconds_count{type="tcp",phase="total"}'), 1);
  });

  it('records scheduler lag in seconds, an early start as zero', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.schedulerLag(-0.4);
    metrics.schedulerLag(7_000);
    const { samples } = await scrape(metrics, new FakeSource());
    assert.equal(samples.get('probebot_scheduler_lag_seconds_count'), 2);
    assert.equal(samples.get('probebot_scheduler_lag_seconds_sum'), 7);
    assert.equal(samples.get('probebot_scheduler_lag_seconds_bucket{le="0.001"}'), 1);
    assert.equal(samples.get('probebot_scheduler_lag_seconds_bucket{le="5"}'), 1);
    assert.equal(samples.get('probebot_scheduler_lag_seconds_bucket{le="10"}'), 2);
  });

  it('counts config reloads by result', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.configReload('failure');
    metrics.configReload('success');
    metrics.configReload('success');
    const { samples } = await scrape(metrics, new FakeSource());
    assert.equal(samples.get('probebot_config_reloads_total{result="success"}'), 2);
    assert.equal(samples.get('probebot_config_reloads_total{result="failure"}'), 1);
  });

  it('renders every target of a large fleet exactly once', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const fleet = resolveConfig(configSchema.parse({ targets: Array.from({ length: 2500 }, (_, i) => ({ name: `t${i}`, type: 'tcp', host: '127.0.0.1', port: 1 + i })) })).targets;
    for (const each of fleet) metrics.probeResult(each, ok(1));
    const source = new FakeSource();
    source.statusList = fleet.map((each) => status(each.name));
    const { text } = await scrape(metrics, source);
    assert.equal(text.match(/^probebot_probe_success\{/gm)?.length, 2500);
    assert.equal(text.match(/^probebot_target_state\{/gm)?.length, 7500);
    assert.equal(text.match(/^# TYPE probebot_target_state /gm)?.length, 1);
  });
});

describe('GET /metrics over HTTP', () => {
  let server: HttpServer;
  let port: number;
  const { metrics, source } = populated();

  before(async () => {
    server = new HttpServer();
    server.route('/metrics', metricsRoute(metrics, source));
    port = await server.listen('127.0.0.1', 0);
  });
  after(() => server.close());

  function get(headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics', method, headers, timeout: 5_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end();
    });
  }

  it('answers text/plain; version=0.0.4 with the recorded series', async () => {
    const response = await get();
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const samples = parseSamples(response.body.toString('utf8'));
    assert.equal(samples.get('probebot_probe_success{target="db",type="tcp"}'), 0);
    assert.equal(samples.get('probebot_probe_success{target="web",type="http"}'), 1);
    assert.equal(samples.get('probebot_transitions_total{kind="state",to="DOWN"}'), 1);
    assert.equal(samples.get('probebot_outbox_pending'), 2);
    assert.ok((samples.get('process_resident_memory_bytes') ?? 0) > 0);
  });

  it('gzips the body for a scraper that accepts it, as Prometheus does', async () => {
    const response = await get({ 'accept-encoding': 'gzip' });
    assert.equal(response.headers['content-encoding'], 'gzip');
    const samples = parseSamples(gunzipSync(response.body).toString('utf8'));
    assert.equal(samples.get('probebot_target_state{target="db",state="DOWN"}'), 1);
  });

  it('refuses other methods', async () => {
    const response = await get({}, 'POST');
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'GET, HEAD');
  });
});
