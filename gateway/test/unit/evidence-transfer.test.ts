/** The pure parts of video evidence transfers: byte ranges, tus Upload-Metadata, the media type check. */
import { expect } from 'chai';
import { checkMediaType } from '../../src/media-check.js';
import { parseRange, parseUploadMetadata } from '../../src/routes/evidence-transfer.js';
import { EXE_HEAD, MP4_HEAD } from '../support/tus.js';

describe('gateway: byte ranges, tus metadata, media type sniffing', () => {
  it('reads one byte range of a file the way RFC 9110 does', () => {
    expect(parseRange(undefined, 1000)).to.equal(undefined);
    expect(parseRange('bytes=0-99', 1000)).to.deep.equal({ offset: 0, length: 100 });
    expect(parseRange('bytes=990-', 1000)).to.deep.equal({ offset: 990, length: 10 });
    expect(parseRange('bytes=-10', 1000)).to.deep.equal({ offset: 990, length: 10 });
    expect(parseRange('bytes=-5000', 1000)).to.deep.equal({ offset: 0, length: 1000 });
    expect(parseRange('bytes=500-5000', 1000)).to.deep.equal({ offset: 500, length: 500 });
    expect(parseRange('bytes=1000-', 1000)).to.equal('unsatisfiable');
    expect(parseRange('bytes=20-10', 1000)).to.equal('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).to.equal('unsatisfiable');
    // Several ranges or another unit: the whole file instead (allowed by the RFC).
    expect(parseRange('bytes=0-1,5-6', 1000)).to.equal(undefined);
    expect(parseRange('items=0-1', 1000)).to.equal(undefined);
  });

  it('decodes Upload-Metadata and refuses what is not `key base64` pairs', () => {
    const header = `permitNo ${Buffer.from('HWK-1').toString('base64')}, filetype ${Buffer.from('video/mp4').toString('base64')},flag`;
    expect(parseUploadMetadata(header)).to.deep.equal({ permitNo: 'HWK-1', filetype: 'video/mp4', flag: '' });
    expect(parseUploadMetadata(undefined)).to.deep.equal({});
    const refusal = (header: string) => {
      try {
        parseUploadMetadata(header);
      } catch (e) {
        return (e as { fields: { path: string; message: string }[] }).fields[0];
      }
      return expect.fail(`accepted ${header}`);
    };
    expect(refusal('a b c')).to.deep.equal({ path: 'headers.upload-metadata', message: 'each pair is "key base64value", pairs separated by commas' });
    expect(refusal('a %%%')).to.deep.equal({ path: 'headers.upload-metadata.a', message: 'the value must be base64' });
  });

  it('accepts bytes of the declared type and refuses a renamed executable', async () => {
    await checkMediaType(Buffer.concat([MP4_HEAD, Buffer.alloc(4000)]), 'video/mp4');
    await checkMediaType(Buffer.from('%PDF-1.7\n'), 'application/pdf');
    await checkMediaType(Buffer.from('gas reading 0.2 %LEL at 09:00\n'), 'text/plain');
    for (const [bytes, declared] of [
      [EXE_HEAD, 'video/mp4'],
      [EXE_HEAD, 'text/plain'],
      [Buffer.from('just text'), 'image/jpeg'],
      [Buffer.concat([MP4_HEAD, Buffer.alloc(100)]), 'application/pdf'],
    ] as const) {
      try {
        await checkMediaType(bytes, declared);
        expect.fail(`accepted as ${declared}`);
      } catch (e) {
        expect((e as { code?: string }).code, declared).to.equal('CONTENT_TYPE_MISMATCH');
      }
    }
  });
});
