import { expect } from 'chai';
import {
  applyPermitInput,
  canonicalJson,
  ERROR_CODES,
  ERROR_HTTP_STATUS,
  LEDGER_EVENT_TYPES,
  PERMIT_ACTIONS,
  PERMIT_EVENT_TYPES,
  parseChaincodeError,
  parseErrorCode,
  recordAlarmInput,
  workerPersonalTransient,
} from '../../src';
import { alarmFields } from '../support/alarm-fields';

describe('schema: error codes', () => {
  it('only INTERNAL is a server error: every other code tells the caller what to fix (4xx)', () => {
    const serverErrors = ERROR_CODES.filter((c) => ERROR_HTTP_STATUS[c] >= 500);
    expect(serverErrors).to.deep.equal(['INTERNAL']);
    for (const c of ERROR_CODES.filter((code) => code !== 'INTERNAL')) {
      expect(ERROR_HTTP_STATUS[c], c).to.be.within(400, 499);
    }
  });
  it('each code is found again in a chaincode error as Fabric wraps it, and no code hides inside another', () => {
    for (const c of ERROR_CODES) {
      const wrapped = `10 ABORTED: failed to endorse transaction | EnterpriseMSP: chaincode response 500, ${c}: detail`;
      expect(parseErrorCode(wrapped), c).to.equal(c);
    }
  });
  it('finds the code at the start or inside Fabric wrapping, and nothing in plain text', () => {
    expect(parseErrorCode('EXPIRED: permit P-1 expired')).to.equal('EXPIRED');
    expect(
      parseErrorCode(
        '10 ABORTED: failed to endorse transaction, see attached details for more info; message=chaincode response 500, RULE_VIOLATION: the planned window…',
      ),
    ).to.equal('RULE_VIOLATION');
    expect(parseErrorCode('something unexpected')).to.equal(undefined);
  });
  it("maps the texts of fabric-contract-api's dispatcher (seen on the real network) to codes", () => {
    const wrap = (m: string) => `10 ABORTED: failed to endorse transaction, see attached details for more info | EnterpriseMSP: chaincode response 500, ${m}`;
    expect(parseErrorCode(wrap('Expected 1 parameters, but 2 have been supplied'))).to.equal('VALIDATION_FAILED');
    expect(parseErrorCode(wrap('Expected 1 parameters, but 0 have been supplied'))).to.equal('VALIDATION_FAILED');
    expect(parseErrorCode(wrap('Contract name is not known: nosuch'))).to.equal('NOT_FOUND');
    expect(parseErrorCode(wrap("You've asked to invoke a function that does not exist: Nope"))).to.equal('NOT_FOUND');
  });
  it('gives the reason without the code or Fabric\'s wrapping, so "code: reason" names the code once', () => {
    const wrapped =
      '10 ABORTED: failed to endorse transaction | EnterpriseMSP: chaincode response 500, ' +
      'RULE_VIOLATION: the guardian cannot also be a worker on the permit; name another guardian';
    expect(parseChaincodeError(wrapped)).to.deep.equal({
      code: 'RULE_VIOLATION',
      reason: 'the guardian cannot also be a worker on the permit; name another guardian',
    });
    expect(parseChaincodeError('EXPIRED: permit P-1 expired')).to.deep.equal({ code: 'EXPIRED', reason: 'permit P-1 expired' });
    expect(parseChaincodeError('chaincode response 500, Contract name is not known: nosuch')).to.deep.equal({
      code: 'NOT_FOUND',
      reason: 'Contract name is not known: nosuch',
    });
    expect(parseChaincodeError('something unexpected')).to.equal(undefined);
  });
});

describe('schema: events', () => {
  it('one event type per permit action, all listed', () => {
    expect(Object.keys(PERMIT_EVENT_TYPES).sort()).to.deep.equal([...PERMIT_ACTIONS].sort());
    for (const t of Object.values(PERMIT_EVENT_TYPES)) expect(LEDGER_EVENT_TYPES).to.include(t);
    expect(new Set(LEDGER_EVENT_TYPES).size).to.equal(LEDGER_EVENT_TYPES.length);
  });
});

describe('schema: inputs', () => {
  it('applies defaults and refuses unknown fields', () => {
    const base = {
      permitNo: 'P-1',
      operationType: 'hot_work',
      level: '2',
      location: { siteId: 's', zoneId: 'z', fireExplosionZone: false, outdoor: true },
      workUnit: 'u',
      description: 'd',
      plannedStart: '2026-01-01T08:00:00Z',
      plannedEnd: '2026-01-01T10:00:00Z',
      workers: ['a'.repeat(64)],
      personInChargeId: 'b'.repeat(64),
      guardianId: 'c'.repeat(64),
      hazards: [{ hazardId: 'h', description: 'x' }],
      measures: [{ measureId: 'm', description: 'y' }],
    };
    const ok = applyPermitInput.parse(base);
    expect(ok.nightOrHoliday).to.equal(false);
    expect(ok.location.coordinates).to.equal(null);
    expect(ok.activities).to.deep.equal([]);
    expect(applyPermitInput.safeParse({ ...base, idNumber: '110101199001011234' }).success).to.equal(false);
  });
  it('personal data needs a salt', () => {
    expect(workerPersonalTransient.safeParse({ name: 'n', idNumber: 'i' }).success).to.equal(false);
    expect(workerPersonalTransient.safeParse({ name: 'n', idNumber: 'i', salt: 'x'.repeat(22) }).success).to.equal(true);
  });
  it('alarm grades are 1..4 and signatures 65 bytes', () => {
    const alarm = alarmFields();
    const signature = `0x${'1'.repeat(130)}`;
    expect(recordAlarmInput.safeParse({ alarm, signature }).success).to.equal(true);
    expect(recordAlarmInput.safeParse({ alarm: { ...alarm, grade: 5 }, signature }).success).to.equal(false);
    expect(recordAlarmInput.safeParse({ alarm, signature: '0x12' }).success).to.equal(false);
  });
});

describe('schema: canonical JSON (the one the chaincode, the services and the verifier share)', () => {
  it('sorts keys at every depth, leaves out undefined members and adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).to.equal('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson({ b: 2, a: 1 })).to.equal(canonicalJson({ a: 1, b: 2 }));
    expect(canonicalJson([])).to.equal('[]');
    expect(canonicalJson('é"\n')).to.equal(JSON.stringify('é"\n'));
  });
  it('refuses what JSON cannot represent instead of writing null', () => {
    expect(() => canonicalJson({ a: Number.NaN })).to.throw(TypeError, /\(value\)\.a is NaN/);
    expect(() => canonicalJson([1, undefined])).to.throw(TypeError, /\(value\)\[1\] is of type undefined/);
    expect(() => canonicalJson({ n: 10n })).to.throw(TypeError, /bigint/);
  });
});
