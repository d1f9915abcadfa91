'use strict';
// Spec output for people, plus one machine-readable line per run appended to
// $TEST_SUMMARY_FILE so that scripts/test.sh can print a single total across all packages.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    // The failures are repeated at the very end of npm test's output, because CI shows only its
    // tail: a failed run must say which test failed and why without the whole log.
    const failures = [];
    runner.on('pending', (test) => skipped.push(test.fullTitle()));
    // Each file's wall time, hooks included (the spec output times tests only): where a package's
    // minutes go, printed for its slowest files at the end.
    const fileMs = new Map();
    const started = new Map();
    const topLevel = (suite) => suite.file && suite.parent?.root;
    runner.on('suite', (suite) => {
      if (topLevel(suite)) started.set(suite, Date.now());
    });
    runner.on('suite end', (suite) => {
      if (!started.has(suite)) return;
      fileMs.set(suite.file, (fileMs.get(suite.file) ?? 0) + Date.now() - started.get(suite));
    });
    runner.on('fail', (test, err) => {
      const message = String(err?.message ?? err)
        .split('\n')
        .slice(0, 6)
        .join('\n');
      failures.push({ title: test.fullTitle(), file: test.file ?? test.parent?.file, message });
    });
    runner.once('end', () => {
      const slowest = [...fileMs].sort((a, b) => b[1] - a[1]).slice(0, 8);
      if (slowest.length > 1) {
        console.log('  slowest files (hooks included):');
        for (const [f, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${path.relative(process.cwd(), f)}`);
      }
      const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      const file = process.env.TEST_SUMMARY_FILE;
      const line = JSON.stringify({
        suite: process.env.TEST_SUITE_NAME ?? process.cwd(),
        passed: s.passes,
        failed: s.failures,
        skipped: s.pending,
        skippedTitles: skipped,
        failures,
      });
      if (file) fs.appendFileSync(file, `${line}\n`);
    });
  }
}

module.exports = SummaryReporter;
