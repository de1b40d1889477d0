/** When to try a delivery again, and how fast a notifier may be called. Pure: time comes in as `now`. */

/** The first retry waits up to this long; each further one doubles it, up to `maxBackoff`. */
export const RETRY_BASE_MS = 1_000;
/** Full jitter can draw almost zero; never retry sooner than this. */
export const MIN_RETRY_MS = 100;

export interface RetryOptions {
  maxBackoffMs: number;
  /** The receiver's Retry-After: the retry never comes sooner. */
  retryAfterMs?: number;
  /** A number in [0, 1). */
  random: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): exponential backoff with full
 * jitter (AWS's "full jitter"), so many alerts retrying against one receiver spread out.
 */
export function retryDelay(attempt: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxBackoffMs, RETRY_BASE_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const jittered = Math.max(MIN_RETRY_MS, Math.round(options.random() * ceiling));
  return options.retryAfterMs === undefined ? jittered : Math.max(jittered, Math.ceil(options.retryAfterMs));
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Notifier types with a request budget of their own: PagerDuty's Events API allows on the order
 * of 120 events a minute per integration key, so a storm is paced below that.
 */
export const NOTIFIER_RATE_LIMITS: Readonly<Partial<Record<string, RateLimit>>> = {
  pagerduty: { perSecond: 2, burst: 20 },
};

/** A token bucket: `burst` calls at once, then `perSecond` on average. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(private readonly limit: RateLimit, now: number) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  /** Takes a token and returns 0, or returns how many ms until one is available (taking nothing). */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.limit.perSecond - 1e-9); // 1e-9: float dust must not add a whole ms
  }
}
