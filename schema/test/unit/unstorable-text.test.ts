import { expect } from 'chai';
import { epochMsSchema, isoTimeSchema, LEDGER_TIME_RANGE, storableCopy, unstorableText } from '../../src';

describe('schema: text PostgreSQL cannot store, in input (unstorableText)', () => {
  it('finds U+0000 in a string at any depth, in arrays and in keys, and gives the path to the first', () => {
    expect(unstorableText('a\u0000b')?.path).to.deep.equal([]);
    const nested = unstorableText({ permitNo: 'P-1', hazards: [{ id: 'h1' }, { id: 'h2', description: 'gas\u0000' }] });
    expect(nested).to.deep.equal({ path: ['hazards', '1', 'description'], problem: 'holds a NUL character (U+0000), which no field accepts: remove it' });
    expect(unstorableText({ ok: 'x', 'bad\u0000key': 1 })?.path).to.deep.equal(['bad\u0000key']);
    expect(unstorableText([['x', '\u0000']])?.path).to.deep.equal(['0', '1']);
  });

  it('finds a lone surrogate, high or low, at the start, middle or end, and passes pairs', () => {
    for (const bad of ['\ud800', 'a\ud800b', 'ab\udfff', '\udc00x', 'x\ud83d']) {
      expect(unstorableText({ description: bad })?.problem, JSON.stringify(bad)).to.match(/lone UTF-16 surrogate/);
    }
    expect(unstorableText({ description: '氧含量 🔥 ok', emoji: '\ud83d\udd25' })).to.equal(undefined);
  });

  it('passes text without either, other control characters, numbers, booleans and null', () => {
    expect(unstorableText({ a: 'line\nbreak\t\u0001\u001f', b: 1, c: true, d: null, e: ['\\u0000 as six characters'] })).to.equal(undefined);
    expect(unstorableText(undefined)).to.equal(undefined);
  });
});

describe('schema: a copy PostgreSQL can store (storableCopy)', () => {
  it('replaces U+0000 and lone surrogates in strings and keys at any depth by U+FFFD, keeps pairs and every other value', () => {
    const copy = storableCopy({ a: 'x\u0000y\ud800', 'k\udc00': [1, null, true, '\ud83d\udd25', { b: '\u0000' }] });
    expect(copy).to.deep.equal({ a: 'x\ufffdy\ufffd', 'k\ufffd': [1, null, true, '\ud83d\udd25', { b: '\ufffd' }] });
    expect(unstorableText(copy)).to.equal(undefined);
  });
});

describe('schema: instants the ledger takes (isoTimeSchema)', () => {
  it('takes 1970 to 9999 and refuses year 0000 (which PostgreSQL has not) and any instant before the epoch, saying the range', () => {
    for (const ok of ['1970-01-01T00:00:00Z', '2026-01-31T08:00:00Z', '2026-01-31T08:00:00.123Z', '9999-12-31T23:59:59.999Z']) {
      expect(isoTimeSchema.safeParse(ok).success, ok).to.equal(true);
    }
    for (const bad of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z']) {
      const r = isoTimeSchema.safeParse(bad);
      expect(r.success, bad).to.equal(false);
      expect(r.error?.issues[0]?.message).to.equal(`must be ${LEDGER_TIME_RANGE}`);
    }
    expect(isoTimeSchema.safeParse('2026-02-30T00:00:00Z').error?.issues[0]?.message).to.match(/ISO-8601 UTC timestamp/);
  });
});

describe('schema: instants devices sign, as epoch milliseconds (epochMsSchema)', () => {
  it('takes 1970 to 9999 and refuses what no date the mirror holds can be', () => {
    for (const ok of [0, Date.parse('2026-01-31T08:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')])
      expect(epochMsSchema.safeParse(ok).success, String(ok)).to.equal(true);
    for (const bad of [-1, Date.parse('9999-12-31T23:59:59.999Z') + 1, 8.64e15 + 1, Number.MAX_SAFE_INTEGER]) {
      expect(epochMsSchema.safeParse(bad).error?.issues[0]?.message, String(bad)).to.equal(`must be epoch milliseconds ${LEDGER_TIME_RANGE}`);
    }
  });
});
