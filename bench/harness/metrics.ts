/**
 * The bot's own view, from GET /metrics when it serves one: the scheduler's start-lag histogram
 * (probebot_scheduler_lag_seconds) and skipped probes. Quantiles are read from the difference of
 * two scrapes, interpolated inside a bucket as Prometheus' histogram_quantile does.
 */

export interface LagHistogram {
  /** Cumulative counts by upper bound (seconds), ascending, +Inf last. */
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sum: number;
}

export interface BotMetrics {
  lag: LagHistogram | undefined;
  skipped: number;
  /** prom-client's nodejs_gc_duration_seconds: total pause seconds and count, by kind (minor, major, incremental, weakcb). */
  gc: Record<string, { seconds: number; count: number }>;
  /** nodejs_eventloop_lag_max_seconds: the longest event-loop delay since the previous scrape. */
  eventLoopMaxSeconds: number | undefined;
  /** How long the scrape took, and its size as sent. */
  scrapeMs: number;
  bytes: number;
}

/** undefined when the bot has no /metrics (yet), or it did not answer within 30 s. */
export async function scrapeMetrics(port: number): Promise<BotMetrics | undefined> {
  const started = performance.now();
  let text: string;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) return undefined;
    text = await response.text();
  } catch {
    return undefined;
  }
  return { ...parseMetrics(text), scrapeMs: performance.now() - started, bytes: text.length };
}

export function parseMetrics(text: string): Omit<BotMetrics, 'scrapeMs' | 'bytes'> {
  const buckets = new Map<number, number>();
  let count = Number.NaN;
  let sum = Number.NaN;
  let skipped = 0;
  let eventLoopMaxSeconds: number | undefined;
  const gc: BotMetrics['gc'] = {};
  const gcKind = (labels: string) => {
    const kind = /kind="([^"]+)"/.exec(labels)?.[1] ?? 'all';
    return (gc[kind] ??= { seconds: 0, count: 0 });
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', value] = match;
    const number = Number(value);
    if (name === 'probebot_scheduler_lag_seconds_bucket') {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le !== undefined) buckets.set(le === '+Inf' ? Infinity : Number(le), (buckets.get(le === '+Inf' ? Infinity : Number(le)) ?? 0) + number);
    } else if (name === 'probebot_scheduler_lag_seconds_count') count = (Number.isNaN(count) ? 0 : count) + number;
    else if (name === 'probebot_scheduler_lag_seconds_sum') sum = (Number.isNaN(sum) ? 0 : sum) + number;
    else if (name === 'probebot_probes_skipped_total') skipped += number;
    else if (name === 'nodejs_gc_duration_seconds_sum') gcKind(labels).seconds += number;
    else if (name === 'nodejs_gc_duration_seconds_count') gcKind(labels).count += number;
    else if (name === 'nodejs_eventloop_lag_max_seconds') eventLoopMaxSeconds = number;
  }
  const lag = buckets.size === 0 ? undefined : { buckets: [...buckets].sort((a, b) => a[0] - b[0]).map(([le, n]) => ({ le, count: n })), count, sum };
  return { lag, skipped, gc, eventLoopMaxSeconds };
}

/** GC pauses between two scrapes, by kind. */
export function gcDelta(before: BotMetrics['gc'], after: BotMetrics['gc']): Record<string, { seconds: number; count: number }> {
  const delta: Record<string, { seconds: number; count: number }> = {};
  for (const [kind, value] of Object.entries(after)) delta[kind] = { seconds: value.seconds - (before[kind]?.seconds ?? 0), count: value.count - (before[kind]?.count ?? 0) };
  return delta;
}

/** What was observed between two scrapes. */
export function histogramDelta(before: LagHistogram, after: LagHistogram): LagHistogram {
  const earlier = new Map(before.buckets.map((bucket) => [bucket.le, bucket.count]));
  return {
    buckets: after.buckets.map((bucket) => ({ le: bucket.le, count: bucket.count - (earlier.get(bucket.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** histogram_quantile: q in [0, 1]; seconds. Above the highest finite bound it answers that bound. */
export function histogramQuantile(histogram: LagHistogram, q: number): number {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of histogram.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket === 0 ? bucket.le : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
