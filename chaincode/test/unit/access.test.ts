import { ENTERPRISE_MSP, REGULATOR_MSP, ROLE_ATTRIBUTE, TX_INPUT_SCHEMAS } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { TX_ACCESS } from '../../src/access';
import { application, CONFIRMER, fresh, gateCheck, seed, toActive, W1, who } from '../support/fixtures';
import { CONTRACTS, type ContractName, caller, workerId } from '../support/harness';

describe('access control', () => {
  it('every transaction of every contract has an access rule, and every rule names a real transaction', () => {
    const names: string[] = [];
    for (const [cname, c] of Object.entries(CONTRACTS)) {
      if (cname === 'heartbeat') continue;
      const proto = Object.getPrototypeOf(c) as Record<string, unknown>;
      for (const m of Object.getOwnPropertyNames(proto)) {
        if (m !== 'constructor' && /^[A-Z]/.test(m) && typeof proto[m] === 'function') names.push(`${cname}:${m}`);
      }
    }
    expect(names.filter((n) => (TX_ACCESS as Record<string, unknown>)[n] === undefined)).to.deep.equal([]);
    expect(Object.keys(TX_INPUT_SCHEMAS).sort()).to.deep.equal(Object.keys(TX_ACCESS).sort());
    expect(Object.keys(TX_ACCESS).filter((k) => !names.includes(k))).to.deep.equal([]);
  });

  it('a certificate without ledger.role, or with an unknown role, is FORBIDDEN', async () => {
    const h = fresh();
    const noRole = { mspId: ENTERPRISE_MSP, id: 'x509::/CN=nobody', attrs: {} };
    const m = await h.fails('FORBIDDEN', 'credential', 'RegisterWorker', noRole, { workerId: W1 });
    expect(m).to.contain(ROLE_ATTRIBUTE);
    await h.fails('FORBIDDEN', 'credential', 'RegisterWorker', { ...noRole, attrs: { [ROLE_ATTRIBUTE]: 'superuser' } }, { workerId: W1 });
  });

  it('a certificate whose department, worker id or name holds U+0000 or a lone surrogate is FORBIDDEN: the mirror could not store its records', async () => {
    const h = fresh();
    const cases: [ReturnType<typeof caller>, string][] = [
      [caller('credential_officer', { dept: 'unit\u0000a' }), 'ledger.department holds a NUL character'],
      [caller('credential_officer', { workerId: 'W\ud800' }), 'ledger.workerId holds a lone UTF-16 surrogate'],
      [caller('credential_officer', { id: 'x509::/CN=off\u0000icer::/CN=ca' }), 'subject and issuer holds a NUL character'],
    ];
    for (const [who, problem] of cases) {
      const m = await h.fails('FORBIDDEN', 'credential', 'RegisterWorker', who, { workerId: W1 });
      expect(m).to.contain(problem).and.to.contain('issue a certificate without it');
    }
    await h.ok('credential', 'RegisterWorker', caller('credential_officer', { dept: 'unit-a' }), { workerId: W1 });
  });

  it('wrong role is refused for each enterprise write', async () => {
    const h = fresh();
    await seed(h);
    await h.fails('FORBIDDEN', 'permit', 'Apply', who.pic, application('A-1'));
    await h.fails('FORBIDDEN', 'permit', 'Apply', who.gateway, application('A-1'));
    await h.ok('permit', 'Apply', who.applicant, application('A-1'));
    await h.fails('FORBIDDEN', 'permit', 'AssessRisk', who.applicant, { permitNo: 'A-1', confirmations: [{ measureId: 'm1', confirmedBy: CONFIRMER }] });
    await h.fails('FORBIDDEN', 'permit', 'RecordGasTest', who.pic, {
      permitNo: 'A-1',
      testId: 't',
      sampleTakenAt: '2026-06-01T08:00:00Z',
      lelClass: 'lel_ge_4',
      flammableVolPct: 0,
    });
    await h.fails('FORBIDDEN', 'credential', 'RegisterWorker', who.applicant, { workerId: CONFIRMER });
    await h.fails('FORBIDDEN', 'device', 'Register', who.gateway, { deviceId: 'd', siteId: 's', areaId: 'a', address: `0x${'1'.repeat(40)}`, kind: 'camera' });
    await h.fails('FORBIDDEN', 'alarm', 'Acknowledge', who.gateway, { alarmId: 'a' });
    await h.fails('FORBIDDEN', 'alarm', 'ReviewDetection', who.safety1, { alarmId: 'a', verdict: 'true_positive' });
    await h.fails('FORBIDDEN', 'template', 'Publish', who.applicant, {});
  });

  it('the right role in the wrong org is refused', async () => {
    const h = fresh();
    await seed(h);
    await h.fails('FORBIDDEN', 'permit', 'Apply', caller('applicant', { msp: REGULATOR_MSP }), application('A-2'));
    await h.fails('FORBIDDEN', 'permit', 'Flag', caller('regulator', { msp: ENTERPRISE_MSP }), { permitNo: 'A-2', flagId: 'f', reason: 'x' });
    await h.fails('FORBIDDEN', 'permit', 'Flag', caller('regulator', { msp: 'AcmeMSP' }), { permitNo: 'A-2', flagId: 'f', reason: 'x' });
  });

  it('every other org is an enterprise of its own: the enterprise roles, on its own records only, which the regulator sees too', async () => {
    const h = fresh();
    await seed(h);
    await toActive(h, 'A-4');
    const acme = (role: string) => caller(role, { msp: 'AcmeMSP' });
    // Another enterprise's permit and worker read as missing, for reads and writes alike.
    for (const [fn, input] of [
      ['Get', { permitNo: 'A-4' }],
      ['GetHistory', { permitNo: 'A-4' }],
      ['Suspend', { permitNo: 'A-4', reason: 'violation' }],
    ] as const) {
      expect(await h.fails('NOT_FOUND', 'permit', fn, acme(fn === 'Suspend' ? 'person_in_charge' : 'applicant'), input)).to.contain(
        'permit A-4 does not exist',
      );
    }
    await h.fails('NOT_FOUND', 'credential', 'SetWorkerStatus', acme('credential_officer'), { workerId: W1, status: 'suspended', reason: 'x' });
    await h.fails('NOT_FOUND', 'credential', 'GetWorker', acme('applicant'), { workerId: W1 });
    const accessLog = { accessId: 'acc-acme', subject: { kind: 'worker', id: W1 }, purpose: 'Not our worker' };
    expect(await h.fails('NOT_FOUND', 'credential', 'LogPersonalDataAccess', acme('credential_officer'), accessLog)).to.contain('does not exist');
    expect(await h.read('permit', 'ListLive', acme('applicant'), { siteId: 'site-1' })).to.deep.equal([]);
    expect((await h.read('permit', 'ListLive', who.regulator, { siteId: 'site-1' })).map((p: { permitNo: string }) => p.permitNo)).to.include('A-4');
    expect((await h.read('permit', 'Get', who.auditor, { permitNo: 'A-4' })).permitNo).to.equal('A-4');
    // Its own worker it registers as any enterprise does, bound to its own peers and the regulator's.
    const acmeWorker = workerId('310101200102029876');
    await h.ok('credential', 'RegisterWorker', acme('credential_officer'), { workerId: acmeWorker });
    const bound = [...h.ledger.validationParameters.entries()].find(([k]) => k.includes(acmeWorker));
    expect(bound, 'key-level endorsement policy of the new worker').to.not.equal(undefined);
    const text = Buffer.from(bound![1]).toString('latin1');
    expect(text).to.contain('AcmeMSP').and.to.contain(REGULATOR_MSP).and.not.to.contain(ENTERPRISE_MSP);
  });

  it('regulators and auditors read and flag, but cannot run the permit', async () => {
    const h = fresh();
    await seed(h);
    await toActive(h, 'A-3');
    for (const r of [who.regulator, who.auditor]) {
      await h.fails('FORBIDDEN', 'permit', 'Suspend', r, { permitNo: 'A-3', reason: 'violation' });
      await h.fails('FORBIDDEN', 'permit', 'Revoke', r, { permitNo: 'A-3', reason: 'x' });
      await h.fails('FORBIDDEN', 'permit', 'SignOff', r, { permitNo: 'A-3', stepId: 'approval' });
      await h.fails('FORBIDDEN', 'credential', 'RecordGateCheck', r, gateCheck('g', 'A-3', W1, { scoreBp: 1 }));
      await h.fails('FORBIDDEN', 'credential', 'ReadPersonalData', r, { accessId: 'x' });
      const p = await h.read('permit', 'Get', r, { permitNo: 'A-3' });
      expect(p.status).to.equal('active');
    }
    const flag = await h.ok('permit', 'Flag', who.auditor, { permitNo: 'A-3', flagId: 'f-1', reason: 'Gas test times look copied' });
    expect(flag.flaggedBy.role).to.equal('auditor');
    await h.fails('ALREADY_EXISTS', 'permit', 'Flag', who.regulator, { permitNo: 'A-3', flagId: 'f-1', reason: 'again' });
    const flags = await h.read('permit', 'GetFlags', who.applicant, { permitNo: 'A-3' });
    expect(flags).to.have.length(1);
    // flagging changes nothing on the permit itself
    const p = await h.read('permit', 'Get', who.regulator, { permitNo: 'A-3' });
    expect(p.history.map((s: { action: string }) => s.action)).to.not.include('flag');
  });

  it('only the step role signs; SignOff is closed to device gateways', async () => {
    expect(TX_ACCESS['permit:SignOff']?.[ENTERPRISE_MSP]).to.not.include('device_gateway');
    expect(TX_ACCESS['permit:SignOff']?.[REGULATOR_MSP]).to.equal(undefined);
  });
});

describe('bad input returns a coded error and changes no state', () => {
  it('malformed JSON, wrong types, missing and unknown fields', async () => {
    const h = fresh();
    await seed(h);
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, '{not json');
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, '[]');
    const app = application('V-1') as Record<string, unknown>;
    const { workers: _w, ...noWorkers } = app;
    const m = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, noWorkers);
    expect(m).to.contain('workers');
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, plannedStart: 1234 });
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, plannedStart: 'tomorrow' });
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, operationType: 'diving' });
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, level: 'IV' });
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, workers: ['110101199001011234'] });
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, workers: [W1, W1] });
    const extra = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, workerNames: ['Zhang San'] });
    expect(extra).to.contain('workerNames');
    await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, permitNo: '../x' });
    // U+0000 or a lone surrogate anywhere, a key too: PostgreSQL (the regulator's mirror) stores neither in jsonb.
    const nul = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, description: 'sump\u0000' });
    expect(nul).to.contain('description holds a NUL character (U+0000)');
    const measures = app.measures as Record<string, unknown>[];
    const nested = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, {
      ...app,
      measures: [measures[0], { ...measures[0], description: 'x\u0000' }],
    });
    expect(nested).to.contain('measures.1.description holds a NUL character');
    const key = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, 'work\u0000Unit': 'u' });
    expect(key).to.contain('NUL character');
    const surrogate = await h.fails('VALIDATION_FAILED', 'permit', 'Apply', who.applicant, { ...app, description: 'sump \ud800' });
    expect(surrogate).to.contain('description holds a lone UTF-16 surrogate');
    await h.fails('VALIDATION_FAILED', 'permit', 'Complete', who.pic, { permitNo: 'V-1', siteRestored: false });
    await h.fails('VALIDATION_FAILED', 'permit', 'RecordGasTest', who.analyst, {
      permitNo: 'V-1',
      testId: 't',
      sampleTakenAt: '2026-06-01T08:00:00Z',
      lelClass: 'lel_ge_4',
      flammableVolPct: '0.1',
    });
    await h.fails('VALIDATION_FAILED', 'permit', 'RecordGasTest', who.analyst, {
      permitNo: 'V-1',
      testId: 't',
      sampleTakenAt: '2026-06-01T08:00:00Z',
      lelClass: 'lel_ge_4',
      flammableVolPct: -1,
    });
  });

  it('unknown permit is NOT_FOUND; wrong state INVALID_STATE; a sample from the future VALIDATION_FAILED', async () => {
    const h = fresh();
    await seed(h);
    for (const fn of ['Issue', 'Activate', 'Expire', 'Get'] as const) {
      const who_ = fn === 'Issue' ? who.approverUnit : fn === 'Expire' ? who.safety1 : who.pic;
      const c: ContractName = 'permit';
      await h.fails('NOT_FOUND', c, fn, who_, { permitNo: 'NOPE-1' });
    }
    await h.ok('permit', 'Apply', who.applicant, application('V-2'));
    await h.fails('INVALID_STATE', 'permit', 'Suspend', who.pic, { permitNo: 'V-2', reason: 'weather' });
    await h.ok('permit', 'AssessRisk', who.pic, {
      permitNo: 'V-2',
      confirmations: [
        { measureId: 'm1', confirmedBy: CONFIRMER },
        { measureId: 'm2', confirmedBy: CONFIRMER },
      ],
    });
    await h.fails('VALIDATION_FAILED', 'permit', 'RecordGasTest', who.analyst, {
      permitNo: 'V-2',
      testId: 't',
      sampleTakenAt: new Date(h.now + 1000).toISOString(),
      lelClass: 'lel_ge_4',
      flammableVolPct: 0,
    });
  });
});

describe('README documents the API', () => {
  it('names every transaction and every error code', async () => {
    const { readFileSync } = await import('node:fs');
    const { ERROR_CODES } = await import('@compliance-ledger/schema');
    const readme = readFileSync(new URL('../../README.md', `file://${__filename}`), 'utf8');
    const missing = Object.keys(TX_ACCESS).filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).to.deep.equal([]);
    // and the access table row of each says exactly what TX_ACCESS says
    const { ROLES } = await import('@compliance-ledger/schema');
    const enterpriseRoles = ROLES.filter((r) => r !== 'regulator' && r !== 'auditor');
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
    const describe = (roles: readonly string[]) =>
      same(roles, ROLES)
        ? 'any role'
        : same(roles, enterpriseRoles)
          ? 'any enterprise role'
          : same(
                roles,
                enterpriseRoles.filter((r) => r !== 'device_gateway' && r !== 'sweeper'),
              )
            ? 'any enterprise role except device_gateway and sweeper (the template step names the exact role)'
            : roles.join(', ');
    const wrong = Object.entries(TX_ACCESS)
      .map(
        ([k, rule]) =>
          `| \`${k}\` | ${Object.entries(rule)
            .map(([msp, roles]) => `${msp}: ${describe(roles)}`)
            .join('; ')} |`,
      )
      .filter((row) => !readme.includes(row));
    expect(wrong).to.deep.equal([]);
    expect(ERROR_CODES.filter((c) => !readme.includes(`\`${c}\``))).to.deep.equal([]);
  });
});
