import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_RETRY_MS, retryDelay, TokenBucket } from '../../src/alerts/backoff.js';

describe('retry backoff (exponential, full jitter)', () => {
  const max = () => 0.999_999;
  it('doubles the ceiling from 1 s with each retry', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((attempt) => retryDelay(attempt, { maxBackoffMs: 300_000, random: max })), [1000, 2000, 4000, 8000, 16000]);
  });

  it('never exceeds maxBackoff, however many retries', () => {
    for (const attempt of [10, 20, 100, 10_000]) assert.ok(retryDelay(attempt, { maxBackoffMs: 60_000, random: max }) <= 60_000);
  });

  it('draws anywhere from almost nothing to the ceiling', () => {
    assert.equal(retryDelay(4, { maxBackoffMs: 300_000, random: () => 0.5 }), 4000);
    assert.equal(retryDelay(4, { maxBackoffMs: 300_000, random: () => 0 }), MIN_RETRY_MS);
  });

  it('never retries before Retry-After', () => {
    assert.equal(retryDelay(1, { maxBackoffMs: 300_000, random: () => 0.5, retryAfterMs: 2000 }), 2000);
    assert.equal(retryDelay(1, { maxBackoffMs: 1000, random: () => 0.5, retryAfterMs: 30_000 }), 30_000);
    assert.equal(retryDelay(6, { maxBackoffMs: 300_000, random: max, retryAfterMs: 2000 }), 32_000);
  });
});

describe('token bucket', () => {
  it('allows a burst, then paces at the rate', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
    assert.equal(bucket.take(0), 500);
    assert.equal(bucket.take(499), 1);
    assert.equal(bucket.take(500), 0);
    assert.equal(bucket.take(500), 500);
  });

  it('refills up to the burst and no further', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
    for (let i = 0; i < 3; i++) bucket.take(0);
    const taken = Array.from({ length: 5 }, () => bucket.take(3_600_000));
    assert.deepEqual(taken, [0, 0, 0, 500, 500]);
  });
});
