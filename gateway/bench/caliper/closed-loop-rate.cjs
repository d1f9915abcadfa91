/**
 * A Caliper rate controller that keeps exactly `transactionLoad` transactions in flight (per run,
 * shared among the workers): the next one starts as soon as one finishes, as our saturation
 * benchmark's callers do. Caliper's own `fixed-load` sleeps for (backlog − target) × average latency
 * whenever the backlog overshoots by one, so its backlog swings well below the target (36–41 of 64
 * on average in bench/RESULTS.md); with this one the two benchmarks apply the same load.
 */
'use strict';

const POLL_MS = 2;

class ClosedLoopRate {
  constructor(testMessage, stats) {
    const opts = testMessage.getRateControlSpec().opts || {};
    this.stats = stats;
    this.target = Number(opts.transactionLoad ?? 10) / testMessage.getWorkersNumber();
  }

  async applyRateControl() {
    while (this.stats.getTotalSubmittedTx() - this.stats.getTotalFinishedTx() >= this.target) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async end() {}
}

module.exports.createRateController = (testMessage, stats) => new ClosedLoopRate(testMessage, stats);
