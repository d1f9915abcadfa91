/** Per-user rate limit: a token bucket per principal, refilled evenly over the window. */
import { RateLimitedError } from './errors.js';

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  constructor(
    private readonly capacity: number,
    windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = capacity / windowMs;
  }
  /** Takes one token for the user or throws RATE_LIMITED with the seconds until the next one. */
  take(user: string): void {
    const t = this.now();
    const b = this.buckets.get(user) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(user, b);
      throw new RateLimitedError(Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)));
    }
    b.tokens -= 1;
    this.buckets.set(user, b);
    if (this.buckets.size > 100_000) this.sweep(t);
  }
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (t - b.at) * this.perMs >= this.capacity) this.buckets.delete(k);
  }
}
