import { expect } from 'chai';
import { nulCharacterPath } from '../../src';

describe('schema: NUL characters in input (nulCharacterPath)', () => {
  it('finds U+0000 in a string at any depth, in arrays and in keys, and gives the path to the first', () => {
    expect(nulCharacterPath('a\u0000b')).to.deep.equal([]);
    expect(nulCharacterPath({ permitNo: 'P-1', hazards: [{ id: 'h1' }, { id: 'h2', description: 'gas\u0000' }] })).to.deep.equal([
      'hazards',
      '1',
      'description',
    ]);
    expect(nulCharacterPath({ ok: 'x', 'bad\u0000key': 1 })).to.deep.equal(['bad\u0000key']);
    expect(nulCharacterPath([['x', '\u0000']])).to.deep.equal(['0', '1']);
  });

  it('passes text without one, other control characters, numbers, booleans and null', () => {
    expect(nulCharacterPath({ a: 'line\nbreak\t\u0001\u001f', b: 1, c: true, d: null, e: ['\\u0000 as six characters'] })).to.equal(undefined);
    expect(nulCharacterPath(undefined)).to.equal(undefined);
  });
});
