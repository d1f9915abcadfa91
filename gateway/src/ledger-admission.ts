/**
 * How many ledger calls the gateway has at its org's peer at once. The peer's Fabric gateway service
 * refuses calls past its own concurrency limit (`peer.limits.concurrency.gatewayService`, 500 in
 * network/core.yaml); under an overload every request then raced for those places and a random
 * subset was refused after waiting. Here the calls past `maxInFlight` wait their turn, first come
 * first served, and only when `maxQueued` already wait, or a call has waited `maxWaitMs`, is it
 * refused: at once, before anything is endorsed, so its Idempotency-Key is released.
 */
export interface AdmissionLimits {
  /** Calls at the peer at once; keep it below the peer's own limit. */
  maxInFlight: number;
  /** Calls that may wait for a place; one more is refused at once. */
  maxQueued: number;
  /** How long a call waits for a place before it is refused. */
  maxWaitMs: number;
}

/** Why a call was not admitted. */
export class LedgerBusy extends Error {
  override readonly name = 'LedgerBusy';
  constructor(
    readonly reason: 'queue_full' | 'waited_too_long',
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

export class LedgerAdmission {
  private running = 0;
  // Insertion-ordered: the first entry is the longest waiting; a call that gives up leaves in O(1).
  private readonly waiting = new Set<Waiter>();

  constructor(
    private readonly label: string,
    private readonly limits: AdmissionLimits,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** Runs `call` once it has a place; the place is given back however the call ends. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await call();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (this.running < this.limits.maxInFlight && this.waiting.size === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.size >= this.limits.maxQueued) {
      return Promise.reject(
        new LedgerBusy('queue_full', `the ${this.label} ledger is at capacity: ${this.running} calls at its peer and ${this.waiting.size} waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.delete(waiter);
          reject(new LedgerBusy('waited_too_long', `the ${this.label} ledger is at capacity: no place at its peer within ${this.limits.maxWaitMs} ms`));
        }, this.limits.maxWaitMs),
      };
      this.waiting.add(waiter);
    });
  }

  private leave(): void {
    this.running--;
    const next = this.waiting.values().next();
    if (!next.done) {
      this.waiting.delete(next.value);
      next.value.grant();
    }
  }
}
