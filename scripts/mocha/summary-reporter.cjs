'use strict';
// Spec output for people, plus one machine-readable line per run appended to
// $TEST_SUMMARY_FILE so that scripts/test.sh can print a single total across all packages.
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on('pending', (test) => skipped.push(test.fullTitle()));
    runner.once('end', () => {
      const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const file = process.env.TEST_SUMMARY_FILE;
      const line = JSON.stringify({
        suite: process.env.TEST_SUITE_NAME ?? process.cwd(),
        passed: s.passes,
        failed: s.failures,
        skipped: s.pending,
        skippedTitles: skipped,
      });
      if (file) fs.appendFileSync(file, `${line}\n`);
    });
  }
}

module.exports = SummaryReporter;
