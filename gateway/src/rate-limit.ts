/** Rate limits: a token bucket per key (a user, or a client address for failed sign-ins), refilled evenly over the window. */
import { RateLimitedError } from './errors.js';

export class RateLimiter {
  /** Keys held at most, by default: about 25 MiB of buckets for the longest keys (an API key's fingerprint). */
  static readonly MAX_KEYS = 100_000;
  /** In least-recently-used order (a key used again moves to the end), so the oldest go first when the map is full. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  constructor(
    private readonly capacity: number,
    windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys: number = RateLimiter.MAX_KEYS,
  ) {
    this.perMs = capacity / windowMs;
  }
  /** Keys held now (tests: the map stays bounded under a burst of new keys). */
  get size(): number {
    return this.buckets.size;
  }
  /** Takes one token for the user or throws RATE_LIMITED with the seconds until the next one. */
  take(user: string): void {
    const b = this.available(user);
    b.tokens -= 1;
  }
  /** Throws RATE_LIMITED when the key has no token left, without taking one. */
  check(key: string): void {
    this.available(key);
  }
  /** Seconds until the key has a token again, or undefined when it has one now (nothing taken). */
  retryAfterSeconds(key: string): number | undefined {
    try {
      this.available(key);
      return undefined;
    } catch (e) {
      if (e instanceof RateLimitedError) return e.retryAfterSeconds;
      throw e;
    }
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
  }
  private refill(key: string): { tokens: number; at: number } {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: t };
    b.tokens = Math.min(this.capacity, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.shrink(t, key);
    return b;
  }
  /**
   * A burst of failed sign-ins, each with a new credential, leaves a drained bucket per credential
   * for a whole window, so sweeping only the full buckets freed nothing, and the sweep then ran
   * over the whole map on every request. Full buckets go first (they hold nothing a fresh one
   * would not); then the least recently used, down to 90% so the next sweep is 10% of the keys
   * away. Forgetting a flooded-out key's failures is the price of bounded memory: the flood's
   * own address bucket, used on each of its requests, stays.
   */
  private shrink(t: number, keep: string): void {
    // The key being used is the newest: the oldest-first pass reaches it last; a full one is kept for its caller to take from.
    for (const [k, b] of this.buckets) if (k !== keep && b.tokens + (t - b.at) * this.perMs >= this.capacity) this.buckets.delete(k);
    const target = Math.floor(this.maxKeys * 0.9);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * Fingerprints (sha256) of credentials that authenticated successfully, each until its token
 * expires (at most a day). A blocked address or subject refuses unchecked whatever is not in here,
 * so that the plant's signed-in users behind one NAT keep working while guesses from the same
 * address get 429; a guess can only pass by being a credential that already worked.
 */
export class KnownCredentials {
  static readonly MAX_AGE_MS = 24 * 3_600_000;
  private readonly until = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}
  remember(fingerprint: string, expiresAtMs?: number): void {
    const t = this.now();
    this.until.set(fingerprint, Math.min(expiresAtMs ?? Number.POSITIVE_INFINITY, t + KnownCredentials.MAX_AGE_MS));
    if (this.until.size > 100_000) for (const [k, u] of this.until) if (u <= t) this.until.delete(k);
  }
  has(fingerprint: string): boolean {
    const u = this.until.get(fingerprint);
    return u !== undefined && u > this.now();
  }
}
