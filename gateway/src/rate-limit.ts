/** Rate limits: a token bucket per key (a user, or a client address for failed sign-ins), refilled evenly over the window. */
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
    const b = this.available(user);
    b.tokens -= 1;
    if (this.buckets.size > 100_000) this.sweep(b.at);
  }
  /** Throws RATE_LIMITED when the key has no token left, without taking one. */
  check(key: string): void {
    this.available(key);
  }
  private available(key: string): { tokens: number; at: number } {
    const b = this.refill(key);
    if (b.tokens < 1) throw new RateLimitedError(Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)));
    return b;
  }
  /** Takes a token if there is one left (for counting events after the fact, such as failures). */
  charge(key: string): void {
    const b = this.refill(key);
    b.tokens = Math.max(0, b.tokens - 1);
    if (this.buckets.size > 100_000) this.sweep(b.at);
  }
  private refill(key: string): { tokens: number; at: number } {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    this.buckets.set(key, b);
    return b;
  }
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (t - b.at) * this.perMs >= this.capacity) this.buckets.delete(k);
  }
}
