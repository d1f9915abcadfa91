/**
 * Issue 14, point 1 on the real network: a permit left past its end is recorded as expired on the
 * ledger by the sweeper, running with its own service identity, and two copies running at once
 * record it exactly once.
 */

import type { ConnectionProfile, PermitRecord } from '@compliance-ledger/schema';
import { connectionProfilePath } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { type RunningReporter, startReporter } from '../../src/main.js';
import { connectAs, enroll, issuedPermitEndingSoon, requireNetwork } from '../support/network.js';

describe('reporter: the sweeper expires permits on the ledger (real network)', () => {
  let profile: ConnectionProfile;
  const running: RunningReporter[] = [];
  before(function () {
    profile = requireNetwork(this);
  });
  after(async () => {
    for (const r of running) await r.stop();
  });

  it('two sweeper copies, one per org, record Expire exactly once, by the sweeper identity', async () => {
    const permitNo = await issuedPermitEndingSoon(profile, 20_000);
    const reader = connectAs(profile, 'regulator', enroll(profile, 'regulator', 'rep-reader', 'auditor'));
    try {
      const before = await reader.evaluate<PermitRecord & { recordedStatus: string }>('permit:Get', { permitNo });
      expect(before.recordedStatus).to.equal('issued');
      for (const [org, name] of [
        ['enterprise', 'rep-sweeper'],
        ['regulator', 'rep-reg-sweeper'],
      ] as const) {
        const config = loadConfig({
          REPORTER_FABRIC_CONNECTION_PROFILE: connectionProfilePath(process.env),
          REPORTER_FABRIC_ORG: org,
          REPORTER_FABRIC_IDENTITY_DIR: enroll(profile, org, name, 'sweeper'),
          REPORTER_SWEEP_PERIOD_MS: '1000',
          REPORTER_PUSH_ENABLED: 'false',
          REPORTER_HTTP_PORT: '0',
          LOG_LEVEL: 'silent',
        });
        running.push(await startReporter(config));
      }
      // Wait (bounded) for the ledger to record it; the bound is a deadline, not an assertion on speed.
      let p: PermitRecord & { recordedStatus: string } = before;
      for (const deadline = Date.now() + 120_000; Date.now() < deadline && p.recordedStatus !== 'expired'; ) {
        await new Promise((r) => setTimeout(r, 1000));
        p = await reader.evaluate('permit:Get', { permitNo });
      }
      expect(p.recordedStatus).to.equal('expired');
      // Let both copies run a few more periods: neither may record it again.
      await new Promise((r) => setTimeout(r, 4000));
      const history = await reader.evaluate<{ versions: { action: string | null }[] }>('permit:GetLedgerHistory', { permitNo });
      expect(history.versions.filter((v) => v.action === 'expire')).to.have.length(1);
      const last = (await reader.evaluate<PermitRecord>('permit:Get', { permitNo })).history.at(-1)!;
      expect([last.action, last.from, last.to, last.actor.role]).to.deep.equal(['expire', 'issued', 'expired', 'sweeper']);
      for (const r of running) expect(r.sweeper.lastError).to.equal(null);
    } finally {
      reader.close();
    }
  });
});
