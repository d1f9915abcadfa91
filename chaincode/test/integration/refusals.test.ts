/**
 * On the real network, with CA-issued identities: actions by the wrong role or the wrong org are
 * refused with FORBIDDEN, and bad input with a stable code (VALIDATION_FAILED, NOT_FOUND,
 * INVALID_STATE, EXPIRED, ALREADY_EXISTS). A refusal is an endorsement failure: nothing is
 * ordered, so the channel height and the records stay as they were.
 */

import { connectToOrg } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, type ErrorCode, type PermitRecord, parseErrorCode } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import {
  Cast,
  confinedSpaceApplication,
  errorText,
  freshWorkerIds,
  gasTestInput,
  guardianCertificate,
  HOUR,
  heightOf,
  iso,
  Party,
  randomIdNumber,
  workerIdOf,
} from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';
import { issuedByOrgCa } from '../support/org-ca';

describe('network: refusals change nothing (real Fabric, CA users)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, analyst: Party;
  let regulator: Party, regAuditor: Party, regApplicant: Party, regAdmin: Party, entRegulator: Party, entAuditor: Party, noRole: Party, oddRole: Party;
  let approverOtherUnit: Party, approverNoWorkerId: Party;
  const { W1, GUARDIAN, PIC } = freshWorkerIds('W1', 'GUARDIAN', 'PIC');
  const site = uniqueId('site');
  const zone = 'pump-house';
  const workUnit = 'unit-pumps';
  const permitNo = uniqueId('CS-R');
  const deviceId = uniqueId('cam');

  const application = (no: string, o: Record<string, unknown> = {}) => {
    return confinedSpaceApplication(
      { permitNo: no, siteId: site, zoneId: zone, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
      { description: 'Clean the sump of pump P-7', hazard: 'Oxygen deficiency', measure: 'Ventilate' },
      o,
    );
  };

  /** The refusal left the channel height and the permit exactly as they were. */
  async function unchanged(run: () => Promise<unknown>): Promise<void> {
    const height = await heightOf(regulator.conn, profile.channel);
    const before = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    await run();
    const after = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    expect(await heightOf(regulator.conn, profile.channel)).to.equal(height);
    expect(after).to.deep.equal(before);
  }

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, admin, applicant, pic, analyst, regulator } = cast.crew('rf', { workUnit, pic: PIC }));
    approverOtherUnit = cast.person('rf-approver-x', 'enterprise', 'approver', { department: 'unit-other', workerId: workerIdOf(randomIdNumber()) });
    approverNoWorkerId = cast.person('rf-approver-nw', 'enterprise', 'approver', { department: workUnit });
    regAuditor = cast.person('rf-reg-auditor', 'regulator', 'auditor');
    // The regulator's CA can write any role into a certificate; the MSP id still decides.
    regApplicant = cast.person('rf-reg-applicant', 'regulator', 'applicant');
    regAdmin = cast.person('rf-reg-admin', 'regulator', 'admin');
    // Likewise the enterprise's CA cannot make an enterprise user a regulator.
    entRegulator = cast.person('rf-ent-regulator', 'enterprise', 'regulator');
    entAuditor = cast.person('rf-ent-auditor', 'enterprise', 'auditor');
    oddRole = cast.person('rf-odd-role', 'enterprise', 'superuser');
    noRole = cast.cryptogen('enterprise');
  });
  after(() => cast?.close());

  it('sets up a permit awaiting sign-off and a camera', async () => {
    for (const w of [W1, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    await admin.submit('device:Register', { deviceId, siteId: site, areaId: zone, address: Wallet.createRandom().address, kind: 'camera' });
    await applicant.submit('permit:Apply', application(permitNo));
    await pic.submit('permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });
    const p = await analyst.submit<PermitRecord>('permit:RecordGasTest', gasTestInput(permitNo, { flammableVolPct: 0.05, oxygenVolPct: 20.8 }));
    expect(p.value.status).to.equal('gas_tested');
  });

  it('wrong role: FORBIDDEN, nothing changes', async () => {
    await unchanged(async () => {
      const m = await applicant.refused('FORBIDDEN', 'permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });
      expect(m).to.contain('role applicant');
      await pic.refused('FORBIDDEN', 'permit:RecordGasTest', gasTestInput(permitNo, { testId: 'gt-x', flammableVolPct: 0.1 }));
      await analyst.refused('FORBIDDEN', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
      await applicant.refused('FORBIDDEN', 'device:Register', {
        deviceId: uniqueId('cam'),
        siteId: site,
        areaId: zone,
        address: Wallet.createRandom().address,
        kind: 'camera',
      });
      await oddRole.refused('FORBIDDEN', 'permit:Apply', application(uniqueId('CS-R')));
      const none = await noRole.refused('FORBIDDEN', 'permit:Apply', application(uniqueId('CS-R')));
      expect(none).to.contain('ledger.role');
    });
  });

  it('the step names the department and needs a worker id: FORBIDDEN for another unit or no ledger.workerId', async () => {
    await unchanged(async () => {
      const m = await approverOtherUnit.refused('FORBIDDEN', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
      expect(m).to.contain(workUnit);
      const n = await approverNoWorkerId.refused('FORBIDDEN', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
      expect(n).to.contain('ledger.workerId');
    });
  });

  it('wrong org: FORBIDDEN whatever role the certificate claims, nothing changes', async () => {
    await unchanged(async () => {
      const m = await regApplicant.refused('FORBIDDEN', 'permit:Apply', application(uniqueId('CS-R')));
      expect(m).to.contain('RegulatorMSP');
      await regulator.refused('FORBIDDEN', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
      await regulator.refused('FORBIDDEN', 'permit:Cancel', { permitNo, reason: 'The regulator cannot cancel' });
      await regAdmin.refused('FORBIDDEN', 'device:SetStatus', { deviceId, status: 'disabled', reason: 'not theirs' });
      await entRegulator.refused('FORBIDDEN', 'permit:Flag', { permitNo, flagId: 'f-ent', reason: 'enterprise posing as regulator' });
      await entAuditor.refused('FORBIDDEN', 'permit:Flag', { permitNo, flagId: 'f-ent-aud', reason: 'enterprise auditor' });
      await entRegulator.refused('FORBIDDEN', 'credential:SetCertificateStatus', { certificateId: 'any', status: 'suspended', reason: 'x' });
      await regulator.evaluateRefused('FORBIDDEN', 'credential:ReadPersonalData', { accessId: 'any' });
    });
    expect(await regulator.evaluate('device:Get', { deviceId })).to.include({ status: 'active' });
  });

  it("what is the regulator's own succeeds: a flag by the regulator and by its auditor, without touching the permit", async () => {
    const before = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    await regulator.submit('permit:Flag', { permitNo, flagId: 'f-reg', reason: 'Check the ventilation record' });
    await regAuditor.submit('permit:Flag', { permitNo, flagId: 'f-aud', reason: 'Sample for the annual audit' });
    await regulator.refused('ALREADY_EXISTS', 'permit:Flag', { permitNo, flagId: 'f-reg', reason: 'again' });
    expect((await pic.evaluate<{ flagId: string }[]>('permit:GetFlags', { permitNo })).map((f) => f.flagId).sort()).to.deep.equal(['f-aud', 'f-reg']);
    expect(await regulator.evaluate('permit:Get', { permitNo })).to.deep.equal(before);
  });

  it('bad input: a stable code and a message, nothing changes', async () => {
    await unchanged(async () => {
      await applicant.refused('VALIDATION_FAILED', 'permit:Apply', '{not json');
      const { workers: _w, ...noWorkers } = application(uniqueId('CS-R'));
      const missing = await applicant.refused('VALIDATION_FAILED', 'permit:Apply', noWorkers);
      expect(missing).to.contain('workers');
      await applicant.refused('VALIDATION_FAILED', 'permit:Apply', application(uniqueId('CS-R'), { workers: 'W1' }));
      await applicant.refused('VALIDATION_FAILED', 'permit:Apply', application(uniqueId('CS-R'), { priority: 'high' }));
      await applicant.refused('VALIDATION_FAILED', 'permit:Apply', application(uniqueId('CS-R'), { level: '1' }));
      // PostgreSQL stores no NUL and no lone surrogate in jsonb: a record with either would stop the regulator's mirror.
      const nul = await applicant.refused('VALIDATION_FAILED', 'permit:Apply', application(uniqueId('CS-R'), { description: 'Clean the sump\u0000 of P-7' }));
      expect(nul).to.contain('description holds a NUL character (U+0000)');
      const half = await applicant.refused('VALIDATION_FAILED', 'permit:Apply', application(uniqueId('CS-R'), { description: 'Clean the sump \udc00' }));
      expect(half).to.contain('description holds a lone UTF-16 surrogate');
      // Nor has it a year 0000: a certificate valid from then would have been committed valid.
      const year0 = guardianCertificate(uniqueId('cert-year0'), GUARDIAN);
      const zero = await officer.refused('VALIDATION_FAILED', 'credential:AddCertificate', { ...year0, validFrom: '0000-01-01T00:00:00Z' });
      expect(zero).to.contain('validFrom: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
      await analyst.refused('VALIDATION_FAILED', 'permit:RecordGasTest', gasTestInput(permitNo, { testId: 'gt-2', flammableVolPct: '0.1' }));
      await analyst.refused('VALIDATION_FAILED', 'permit:RecordGasTest', gasTestInput(permitNo, { testId: 'gt-2', sampleTakenAt: iso(Date.now() + HOUR) }));
      await applicant.refused('ALREADY_EXISTS', 'permit:Apply', application(permitNo));
      await pic.refused('NOT_FOUND', 'permit:AssessRisk', { permitNo: 'NO-SUCH-PERMIT', confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });
      await regulator.evaluateRefused('NOT_FOUND', 'permit:Get', { permitNo: 'NO-SUCH-PERMIT' });
      await pic.refused('INVALID_STATE', 'permit:Activate', { permitNo });
      await pic.refused('INVALID_STATE', 'permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });
      await applicant.refused(
        'EXPIRED',
        'permit:Apply',
        application(uniqueId('CS-R'), { plannedStart: iso(Date.now() - 2 * HOUR), plannedEnd: iso(Date.now() - HOUR) }),
      );
      await applicant.refused('RULE_VIOLATION', 'permit:Apply', application(uniqueId('CS-R'), { plannedEnd: iso(Date.now() + 25 * HOUR) }));
    });
  });

  it("a certificate its org's own CA issued with U+0000 in an attribute: FORBIDDEN, since it would be recorded and stop the regulator's mirror", async () => {
    const issue = (cn: string, attrs: Record<string, string>) =>
      new Party(cn, connectToOrg(profile, 'enterprise', issuedByOrgCa(profile, 'enterprise', cn, attrs)), profile);
    const officerNul = issue(uniqueId('rf-nul-dept'), { 'ledger.role': 'credential_officer', 'ledger.department': 'unit\u0000pumps' });
    const probeNul = issue(uniqueId('rf-nul-role'), { 'ledger.role': 'probe\u0000' });
    // The same CA and key with a clean attribute: the certificate itself is one the MSP accepts.
    const officerClean = issue(uniqueId('rf-clean-dept'), { 'ledger.role': 'credential_officer', 'ledger.department': 'unit-pumps' });
    try {
      await unchanged(async () => {
        const m = await officerNul.refused('FORBIDDEN', 'credential:RegisterWorker', { workerId: workerIdOf(randomIdNumber()) });
        expect(m).to.contain('ledger.department holds a NUL character').and.to.contain('issue a certificate without it');
        let heartbeat = '';
        await probeNul
          .contract('heartbeat')
          .submitTransaction('Record', uniqueId('hb-nul'), 'probe')
          .catch((e: unknown) => {
            heartbeat = errorText(e);
          });
        expect(parseErrorCode(heartbeat), heartbeat).to.equal('FORBIDDEN');
        expect(heartbeat).to.contain('ledger.role holds a NUL character');
      });
      await officerClean.submit('credential:RegisterWorker', { workerId: workerIdOf(randomIdNumber()) });
    } finally {
      for (const p of [officerNul, probeNul, officerClean]) p.conn.close();
    }
  });

  it('malformed calls: an unknown transaction is coded by the chaincode; what the dispatcher refuses first maps to a code', async () => {
    const call = async (run: () => Promise<unknown>): Promise<string> => {
      try {
        await run();
      } catch (err) {
        return errorText(err);
      }
      throw new Error('should have been refused');
    };
    await unchanged(async () => {
      // Reaches the chaincode (LedgerContract.unknownTransaction): a coded message.
      expect(await call(() => pic.contract('permit').submitTransaction('Approve', JSON.stringify({ permitNo })))).to.match(
        /NOT_FOUND: transaction permit:Approve does not exist/,
      );
      // Refused by fabric-contract-api before any chaincode code runs: its own text, which
      // parseErrorCode maps (DISPATCHER_ERROR_CODES).
      const cases: [ErrorCode, () => Promise<unknown>][] = [
        ['VALIDATION_FAILED', () => pic.contract('permit').submitTransaction('Get')],
        ['VALIDATION_FAILED', () => pic.contract('permit').submitTransaction('Get', JSON.stringify({ permitNo }), 'extra')],
        ['NOT_FOUND', () => pic.contract('nosuchcontract').submitTransaction('Get', JSON.stringify({ permitNo }))],
      ];
      for (const [code, run] of cases) expect(parseErrorCode(await call(run))).to.equal(code);
    });
  });

  it('after the validity ends: EXPIRED for every step, the permit reads expired, Expire records it', async () => {
    const short = uniqueId('CS-E');
    const start = Date.now();
    await applicant.submit('permit:Apply', application(short, { plannedStart: iso(start), plannedEnd: iso(start + 4_000) }));
    await new Promise((r) => setTimeout(r, Math.max(0, start + 4_500 - Date.now())));
    const height = await heightOf(regulator.conn, profile.channel);
    await pic.refused('EXPIRED', 'permit:AssessRisk', { permitNo: short, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });
    await applicant.refused('EXPIRED', 'permit:Cancel', { permitNo: short, reason: 'too late' });
    expect(await heightOf(regulator.conn, profile.channel)).to.equal(height);
    const view = await regulator.evaluate<PermitRecord & { recordedStatus: string; expiredAt: string }>('permit:Get', { permitNo: short });
    expect(view).to.include({ status: 'expired', recordedStatus: 'applied', expiredAt: iso(start + 4_000) });
    // Fabric does not check the timestamp a client puts into its proposal, and every rule uses
    // it: a step backdated into the validity must not pass (both peers would endorse it).
    for (const shift of [-10 * 60_000, 10 * 60_000]) {
      let text = '';
      try {
        const tx = await pic
          .proposalAt('permit:AssessRisk', { permitNo: short, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] }, Date.now() + shift)
          .endorse();
        await tx.submit();
      } catch (err) {
        text = errorText(err);
      }
      expect(parseErrorCode(text), `a proposal ${shift / 60_000} min off was not refused: ${text}`).to.equal('RULE_VIOLATION');
      expect(text).to.contain("peers' clocks");
    }
    expect(await heightOf(regulator.conn, profile.channel)).to.equal(height);
    // Evaluations too: a backdated read would show the permit as still valid.
    let read = '';
    try {
      await pic.proposalAt('permit:Get', { permitNo: short }, Date.now() - 10 * 60_000).evaluate();
    } catch (err) {
      read = errorText(err);
    }
    expect(parseErrorCode(read)).to.equal('RULE_VIOLATION');
    // A clock a little off (here 1 min) is tolerated, so time can be shifted that much at most.
    const slightly = new TextDecoder().decode(await pic.proposalAt('permit:Get', { permitNo: short }, Date.now() - 60_000).evaluate());
    expect(JSON.parse(slightly)).to.include({ permitNo: short, recordedStatus: 'applied' });

    const expired = await regulator.submit<PermitRecord>('permit:Expire', { permitNo: short });
    expect(expired.value.status).to.equal('expired');
    await regulator.refused('INVALID_STATE', 'permit:Expire', { permitNo: short });
  });
});
