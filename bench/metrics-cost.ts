/**
 * What metrics cost at full scale: nanoseconds per Metrics.probeResult() (the per-result path,
 * about 1,000 calls a second with 10,000 targets every 10 s), against prom-client's own cached
 * label children doing the same work, and the time, longest event-loop block and size of one
 * scrape of 10,000 targets.
 *
 *   node --import tsx bench/metrics-cost.ts [--targets 10000] [--calls 2000000]
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Histogram, Registry } from 'prom-client';
import { resolveConfig } from '../src/config/resolve.js';
import { configSchema } from '../src/config/schema.js';
import { Metrics, type MetricsSource } from '../src/http/metrics.js';
import type { TargetStatus } from '../src/monitor/types.js';
import type { ProbeResult } from '../src/probes/types.js';

const { values } = parseArgs({ options: { targets: { type: 'string', default: '10000' }, calls: { type: 'string', default: '2000000' } } });
const targetCount = Number(values.targets);
const calls = Number(values.calls);

const { targets } = resolveConfig(
  configSchema.parse({ targets: Array.from({ length: targetCount }, (_, i) => ({ name: `target-${i}.example.internal`, type: 'http', url: `http://127.0.0.1:${8000 + (i % 1000)}/` })) }),
);
const results: ProbeResult[] = Array.from({ length: 64 }, (_, i) => ({
  ok: i % 9 !== 0,
  latencyMs: 0.3 + i * 7.3,
  at: Date.now(),
  phases: { dns: 0.1, connect: 0.2 + i / 10, firstByte: 1 + i, body: 0.4 },
}));
const statuses: TargetStatus[] = targets.map((target, i) => ({
  target: target.name,
  state: i % 50 === 0 ? 'DOWN' : 'UP',
  since: 0,
  consecutiveFailures: 0,
  consecutiveSuccesses: 3,
  history: [],
  flapping: i % 97 === 0,
  flapPercent: 0,
  announced: 'UP',
  recentLatencies: [],
}));
const source: MetricsSource = {
  statuses: () => statuses,
  health: () => ({
    scheduler: { skippedOverrun: 3, skippedConcurrency: 0 },
    outbox: { pending: 0, oldestPendingAgeMs: 0, sent: { slack: 12 }, failed: { slack: 1 }, retries: 4, givenUp: 0 },
    state: { failing: false, lastFlushAt: Date.now() },
  }),
};

function nsPerCall(record: (i: number) => void): number {
  for (let i = 0; i < 200_000; i++) record(i); // warm up, and every target seen
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) record(i);
  return Number(process.hrtime.bigint() - start) / calls;
}

const metrics = new Metrics();
const ours = nsPerCall((i) => metrics.probeResult(targets[i % targetCount]!, results[i % 64]!));

const registry = new Registry();
const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const success = new Gauge({ name: 'success', help: 'h', labelNames: ['target', 'type'], registers: [registry] });
const total = new Histogram({ name: 'total_seconds', help: 'h', labelNames: ['type', 'phase'], buckets, registers: [registry] });
const successChildren = targets.map((target) => success.labels(target.name, target.type));
const phaseChildren = ['total', 'dns', 'connect', 'first_byte', 'body'].map((phase) => total.labels('http', phase));
const theirs = nsPerCall((i) => {
  const result = results[i % 64]!;
  successChildren[i % targetCount]!.set(result.ok ? 1 : 0);
  for (const child of phaseChildren) child.observe(result.latencyMs / 1000);
});

console.log(`probeResult: ${ours.toFixed(0)} ns/call (prom-client cached children, same work: ${theirs.toFixed(0)} ns/call)`);
console.log(`at 1,000 results/s: ${((ours * 1000) / 1e7).toFixed(4)}% of a core`);

const delay = monitorEventLoopDelay({ resolution: 1 });
for (let run = 0; run < 8; run++) {
  delay.reset();
  delay.enable();
  const start = process.hrtime.bigint();
  const pieces = await metrics.exposition(source);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  delay.disable();
  let bytes = 0;
  let lines = 0;
  for (const piece of pieces) {
    bytes += piece.length;
    for (let at = piece.indexOf('\n'); at !== -1; at = piece.indexOf('\n', at + 1)) lines++;
  }
  console.log(
    `scrape of ${targetCount} targets: ${ms.toFixed(1)} ms, longest event-loop block ${(delay.max / 1e6).toFixed(1)} ms, ` +
      `${(bytes / 1e6).toFixed(2)} MB, ${lines} lines`,
  );
}
