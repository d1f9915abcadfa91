/**
 * Video-sized evidence through the gateway on the real network: tus resumable uploads (also a
 * 1 GiB one, cut off mid-way and resumed, in a gateway process of its own whose resident memory is
 * read from /proc), downloads with byte ranges, and the declared media type checked against the
 * bytes.
 */
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { computeCid } from '../../src/ipfs.js';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway } from '../support/env.js';
import { startGatewayProcess } from '../support/gateway-process.js';
import { type Cast, castWithPermit, iso } from '../support/scenario.js';
import { createUpload, EXE_HEAD, MP4_HEAD, mediaBytes, mediaStream, patch, TUS, uploadMetadata } from '../support/tus.js';

const MiB = 1024 * 1024;

describe('gateway: video evidence — tus uploads, range downloads, media type checked against the bytes', function () {
  this.timeout(120_000);
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let db: string;
  let cast: Cast;
  let permitNo: string;
  let auth: string;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_video');
    gw = await startTestGateway({ DATABASE_URL: db });
    ({ cast, permitNo } = await castWithPermit(new Client(gw.url)));
    auth = cast.clients.applicant.auth.authorization!;
  });
  after(async () => {
    await gw?.close();
    if (db) await dropDatabase(db);
  });

  const metadata = (filetype: string, filename = 'clip.mp4') =>
    uploadMetadata({ permitNo, step: 'execution', capturedAt: iso(Date.now() - 60_000), filetype, filename });

  const create = (base: string, length: number, meta: string) => createUpload(base, auth, length, meta);

  it('uploads a clip in three PATCHes, records it, and serves exactly the bytes of each range asked for', async () => {
    const size = 3 * MiB + 12_345;
    const bytes = mediaBytes('three-patches', MP4_HEAD, size);
    const created = await create(gw.url, size, metadata('video/mp4'));
    expect(created.status, created.text).to.equal(201);
    expect(created.location).to.match(/^\/v1\/uploads\/[0-9a-f]{32}$/);
    const cuts = [0, 1_000_000, 2_500_000, size];
    let last: Awaited<ReturnType<typeof patch>> | undefined;
    for (let i = 0; i < 3; i++) {
      last = await patch(gw.url, created.location, auth, cuts[i]!, Readable.from([bytes.subarray(cuts[i], cuts[i + 1])]));
      expect(last.status, last.body).to.equal(204);
      expect(last.headers['upload-offset']).to.equal(String(cuts[i + 1]));
      expect(last.headers['tus-resumable']).to.equal('1.0.0');
    }
    const cid = await computeCid(Readable.from([bytes]));
    expect(last!.headers['evidence-cid']).to.equal(cid);
    expect(last!.headers['evidence-sha256']).to.equal(crypto.createHash('sha256').update(bytes).digest('hex'));
    const state = await cast.clients.applicant.get(created.location);
    expect(state.status, state.text).to.equal(200);
    expect(state.body.stored).to.include({ cid, sizeBytes: size });
    const listed = await cast.clients.regulator.get(`/v1/permits/${permitNo}/evidence`);
    expect(listed.body.map((e: { cid: string }) => e.cid)).to.include(cid);

    const url = `/v1/permits/${permitNo}/evidence/${cid}/content`;
    const whole = await cast.clients.auditor.download(url);
    expect(whole.status).to.equal(200);
    expect(whole.headers.get('accept-ranges')).to.equal('bytes');
    expect(whole.headers.get('content-type')).to.equal('video/mp4');
    expect(Buffer.from(whole.bytes).equals(bytes)).to.equal(true);
    const ranged = async (range: string) => {
      const res = await fetch(gw.url + url, { headers: { authorization: auth, range } });
      return { status: res.status, contentRange: res.headers.get('content-range'), bytes: Buffer.from(await res.arrayBuffer()) };
    };
    // Across a chunk boundary of the DAG (262144), from the middle, and the tail.
    for (const [range, from, to] of [
      ['bytes=262100-262200', 262_100, 262_200],
      ['bytes=1000000-2999999', 1_000_000, 2_999_999],
      ['bytes=-100', size - 100, size - 1],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      [`bytes=5-${size + 1000}`, 5, size - 1],
    ] as const) {
      const r = await ranged(range);
      expect(r.status, range).to.equal(206);
      expect(r.contentRange, range).to.equal(`bytes ${from}-${to}/${size}`);
      expect(r.bytes.equals(bytes.subarray(from, to + 1)), range).to.equal(true);
    }
    const outside = await ranged(`bytes=${size}-`);
    expect(outside.status).to.equal(416);
    expect(outside.contentRange).to.equal(`bytes */${size}`);
    expect(JSON.parse(outside.bytes.toString()).error.code).to.equal('RANGE_NOT_SATISFIABLE');
    const unknown = await cast.clients.auditor.get(`/v1/permits/${permitNo}/evidence/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/content`);
    expect(unknown.status).to.equal(404);
  });

  it('refuses a renamed .exe declared as video/mp4, over tus and multipart, and records nothing', async () => {
    const before = (await cast.clients.regulator.get(`/v1/permits/${permitNo}/evidence`)).body.length;
    const size = 2 * MiB;
    const created = await create(gw.url, size, metadata('video/mp4', 'clip.mp4'));
    expect(created.status, created.text).to.equal(201);
    // The head is checked as soon as it is in: the rest of the file is never needed.
    const r = await patch(gw.url, created.location, auth, 0, Readable.from([mediaBytes('exe', EXE_HEAD, 64 * 1024)]));
    expect(r.status, r.body).to.equal(415);
    expect(JSON.parse(r.body).error).to.deep.include({ code: 'CONTENT_TYPE_MISMATCH' });
    expect(JSON.parse(r.body).error.details).to.deep.equal({ declared: 'video/mp4', detected: 'application/x-msdownload' });
    const gone = await cast.clients.applicant.request('HEAD', created.location, { headers: { ...TUS } });
    expect(gone.status).to.equal(404);

    const form = new FormData();
    form.set('step', 'execution');
    form.set('capturedAt', iso(Date.now() - 60_000));
    form.set('file', new Blob([mediaBytes('exe', EXE_HEAD, 300_000)], { type: 'video/mp4' }), 'clip.mp4');
    const multipart = await cast.clients.applicant.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form });
    expect(multipart.status, multipart.text).to.equal(415);
    expect(multipart.body.error.code).to.equal('CONTENT_TYPE_MISMATCH');
    // Text declared as text/plain passes; a PE executable declared as text/plain does not.
    const text = new FormData();
    text.set('step', 'execution');
    text.set('capturedAt', iso(Date.now() - 60_000));
    text.set('file', new Blob([EXE_HEAD], { type: 'text/plain' }), 'notes.txt');
    const exeAsText = await cast.clients.applicant.request('POST', `/v1/permits/${permitNo}/evidence`, { body: text });
    expect(exeAsText.status, exeAsText.text).to.equal(415);
    expect((await cast.clients.regulator.get(`/v1/permits/${permitNo}/evidence`)).body.length).to.equal(before);
  });

  it('speaks tus: discovery, the version header, offsets, sizes, termination', async () => {
    const options = await fetch(`${gw.url}/v1/uploads`, { method: 'OPTIONS' });
    expect(options.status).to.equal(204);
    expect(options.headers.get('tus-version')).to.equal('1.0.0');
    expect(options.headers.get('tus-extension')).to.equal('creation,termination');
    expect(options.headers.get('tus-max-size')).to.equal(String(2 * 1024 ** 3));
    const noVersion = await cast.clients.applicant.request('POST', '/v1/uploads', {
      headers: { 'upload-length': '10', 'upload-metadata': metadata('video/mp4') },
      idem: false,
    });
    expect(noVersion.status).to.equal(412);
    expect(noVersion.body.error.code).to.equal('TUS_VERSION_UNSUPPORTED');
    const tooBig = await create(gw.url, 2 * 1024 ** 3 + 1, metadata('video/mp4'));
    expect(tooBig.status).to.equal(413);
    const badType = await create(gw.url, 10, metadata('application/x-msdownload'));
    expect(badType.status).to.equal(415);
    const noPermit = await create(gw.url, 10, uploadMetadata({ permitNo: 'NOPE-1', step: 'execution', capturedAt: iso(Date.now()), filetype: 'video/mp4' }));
    expect(noPermit.status).to.equal(404);

    const created = await create(gw.url, 100_000, metadata('video/mp4'));
    expect(created.status, created.text).to.equal(201);
    const bytes = mediaBytes('offsets', MP4_HEAD, 100_000);
    expect((await patch(gw.url, created.location, auth, 0, Readable.from([bytes.subarray(0, 50_000)]))).status).to.equal(204);
    const empty = await patch(gw.url, created.location, auth, 50_000, Readable.from([]));
    expect(empty.status, empty.body).to.equal(204);
    expect(empty.headers['upload-offset']).to.equal('50000');
    const wrong = await patch(gw.url, created.location, auth, 10, Readable.from([bytes.subarray(10, 20)]));
    expect(wrong.status).to.equal(409);
    expect(JSON.parse(wrong.body).error).to.deep.include({ code: 'UPLOAD_OFFSET_MISMATCH', details: { offset: 50_000 } });
    const head = await cast.clients.applicant.request('HEAD', created.location, { headers: { ...TUS } });
    expect(head.status).to.equal(200);
    expect(head.headers.get('upload-offset')).to.equal('50000');
    expect(head.headers.get('upload-length')).to.equal('100000');
    expect(head.headers.get('cache-control')).to.equal('no-store');
    const beyond = await patch(gw.url, created.location, auth, 50_000, Readable.from([Buffer.alloc(50_001)]));
    expect(beyond.status).to.equal(413);
    // Someone else's upload is not there for them.
    const other = await cast.clients.analyst.request('HEAD', created.location, { headers: { ...TUS } });
    expect(other.status).to.equal(404);
    const ended = await cast.clients.applicant.request('DELETE', created.location, { headers: { ...TUS } });
    expect(ended.status).to.equal(204);
    expect((await cast.clients.applicant.request('HEAD', created.location, { headers: { ...TUS } })).status).to.equal(404);
  });

  it(
    'a 1 GiB upload cut off mid-way resumes and completes with the right CID, and downloads whole; ' + 'the gateway stays under 200 MiB resident',
    async function () {
      this.timeout(1_200_000);
      const size = 1024 * MiB;
      const seed = `gib-${permitNo}`;
      const expected = computeCid(mediaStream(seed, MP4_HEAD, size));
      const proc = await startGatewayProcess();
      try {
        const created = await create(proc.url, size, metadata('video/mp4', 'shift-recording.mp4'));
        expect(created.status, created.text).to.equal(201);
        const cut = await patch(proc.url, created.location, auth, 0, mediaStream(seed, MP4_HEAD, size), 400 * MiB);
        expect(cut.status, 'the connection was cut').to.equal(0);
        // The server notices the dropped connection; what reached its disk is the offset to resume from.
        let done: Awaited<ReturnType<typeof patch>> | undefined;
        for (let attempt = 0; attempt < 20 && !done; attempt++) {
          const head = await cast.clients.applicant.at(proc.url).request('HEAD', created.location, { headers: { ...TUS } });
          expect(head.status).to.equal(200);
          const offset = Number(head.headers.get('upload-offset'));
          expect(offset).to.be.greaterThan(0).and.lessThan(size);
          const r = await patch(proc.url, created.location, auth, offset, mediaStream(seed, MP4_HEAD, size, offset));
          if (r.status === 423 || r.status === 409) {
            await new Promise((res) => setTimeout(res, 500));
            continue;
          }
          expect(r.status, r.body).to.equal(204);
          done = r;
        }
        expect(done, 'resumed').to.not.equal(undefined);
        const cid = String(done!.headers['evidence-cid']);
        expect(cid).to.equal(await expected);
        // And back out whole: the same bytes, streamed, within the same memory.
        const res = await fetch(`${proc.url}/v1/permits/${permitNo}/evidence/${cid}/content`, { headers: { authorization: auth } });
        expect(res.status).to.equal(200);
        const hash = crypto.createHash('sha256');
        let received = 0;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          received += chunk.length;
        }
        expect(received).to.equal(size);
        expect(hash.digest('hex')).to.equal(done!.headers['evidence-sha256']);
        const { peakRss } = proc.memory();
        console.log(`      gateway process peak resident memory (VmHWM) over the 1 GiB upload and download: ${(peakRss / MiB).toFixed(1)} MiB`);
        expect(peakRss).to.be.lessThan(200 * MiB);
      } finally {
        await proc.stop();
      }
    },
  );
});
