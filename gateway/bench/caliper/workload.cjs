/**
 * Caliper workload module: each call submits one permit:Apply with a new permit number, the body of
 * the cast prepare.ts registered, its planned window stamped at the time of the call (the chaincode
 * refuses a window that started too long ago). CommonJS and without caliper-core imports: Caliper
 * lives in a cache outside the workspaces, and it needs only these three methods.
 */
'use strict';

const fs = require('node:fs');

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

class PermitApplyWorkload {
  async initializeWorkloadModule(workerIndex, _totalWorkers, roundIndex, args, sutAdapter) {
    this.adapter = sutAdapter;
    this.args = args;
    this.template = JSON.parse(fs.readFileSync(args.template, 'utf8'));
    // Unique across workers, rounds and Caliper launches on one prepared cast (run.sh launches
    // Caliper several times; a repeated permit number would be refused as ALREADY_EXISTS).
    this.prefix = `${args.prefix}-${Date.now().toString(36)}-${roundIndex}-${workerIndex}`;
    this.next = 0;
  }

  async submitTransaction() {
    const now = Date.now();
    const body = { ...this.template, permitNo: `${this.prefix}-${this.next++}`, plannedStart: iso(now - 60_000), plannedEnd: iso(now + 8 * 3_600_000) };
    return this.adapter.sendRequests({
      channel: this.args.channel,
      contractId: this.args.contract,
      contractFunction: 'permit:Apply',
      contractArguments: [JSON.stringify(body)],
      invokerIdentity: 'applicant',
      readOnly: false,
    });
  }

  async cleanupWorkloadModule() {}
}

module.exports.createWorkloadModule = () => new PermitApplyWorkload();
