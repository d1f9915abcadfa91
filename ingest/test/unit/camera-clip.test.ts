import { Readable } from 'node:stream';
import { computeCid, EmbeddedContentStore } from '@compliance-ledger/content-store';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { topicFor } from '../../src/mqtt/topics.js';
import { raiseAlarmArgument } from '../../src/outbox/fabric-ledger.js';
import { resolveClip } from '../../src/pipeline/camera-clip.js';
import { decodeMessage } from '../../src/pipeline/decode.js';
import type { AiMessage, StandardMessage } from '../../src/pipeline/message.js';
import { signedByDevice, signedText, signStandardMessage } from '../../src/pipeline/message-signature.js';
import { permitsMessage } from '../support/burst.js';
import { detectionWithClip, sha256Hex } from '../support/camera-clip.js';
import { type PipelineFixture, pipelineFixture } from '../support/pipeline.js';
import { tempDir } from '../support/temp.js';

const T0 = Date.parse('2026-11-30T02:00:00Z'); // 10:00 at the site
const camera = { siteId: 'site-1', areaId: 'reactor-3', deviceId: 'cam-reactor-3', behaviour: 'guardian_absent' as const };

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

describe('camera clips', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  describe('signing', () => {
    it('the camera signs the clip sha256 and not its bytes, which never enter the signed text', async () => {
      const wallet = Wallet.createRandom();
      const { message, bytes } = detectionWithClip({ ...camera, observedAt: T0 }, 'attached');
      const signed = await signStandardMessage(wallet, message);
      expect(signedByDevice(signed, wallet.address)).to.equal(true);
      const text = signedText(signed);
      expect(JSON.parse(text).detection.clipSha256).to.equal(sha256Hex(bytes));
      expect(text).to.not.contain(message.clip!.slice(0, 64));
      // Other bytes leave the signature intact (the hash check catches them); another hash does not.
      expect(signedByDevice({ ...signed, clip: Buffer.from('other').toString('base64') }, wallet.address)).to.equal(true);
      expect(signedByDevice({ ...signed, detection: { ...signed.detection, clipSha256: sha256Hex(Buffer.from('x')) } }, wallet.address)).to.equal(false);
    });

    it('a detection signed before clips were signed still verifies', async () => {
      const wallet = Wallet.createRandom();
      const { clip: _bytes, detection, ...rest } = detectionWithClip({ ...camera, observedAt: T0 }, 'attached').message;
      const { clipSha256: _hash, ...older } = detection;
      const signed = await signStandardMessage(wallet, { ...rest, detection: older } as AiMessage);
      expect(signedByDevice(signed, wallet.address)).to.equal(true);
      const decoded = decodeMessage(topicFor('ledger', { ...signed, channel: 'ai' }), Buffer.from(JSON.stringify(signed)), {
        topicRoot: 'ledger',
        deviceAddresses: new Map([[camera.deviceId, wallet.address.toLowerCase()]]),
        requireSignature: true,
      });
      expect(decoded.ok).to.equal(true);
    });

    it('refuses clip bytes that no signed hash names, saying what to add', () => {
      const { message } = detectionWithClip({ ...camera, observedAt: T0 }, 'attached');
      const { clipSha256: _hash, ...detection } = message.detection;
      const unnamed = { ...message, detection };
      const decoded = decodeMessage(topicFor('ledger', { ...unnamed, channel: 'ai' }), Buffer.from(JSON.stringify(unnamed)), { topicRoot: 'ledger' });
      expect(decoded).to.deep.include({ ok: false, code: 'schema' });
      expect(!decoded.ok && decoded.reason).to.match(/clipSha256/);
    });
  });

  describe('resolveClip', () => {
    let store: EmbeddedContentStore;
    beforeEach(() => {
      store = new EmbeddedContentStore(dir.path);
    });
    afterEach(() => store.close());

    it('stores a clip that hashes to the signed sha256 and gives its CID', async () => {
      const { message, bytes } = detectionWithClip({ ...camera, observedAt: T0 }, 'attached');
      const outcome = await resolveClip(store, message);
      expect(outcome).to.deep.equal({ sha256: sha256Hex(bytes), status: 'verified', cid: await computeCid(Readable.from([bytes])) });
      expect((await collect(store.cat(outcome!.cid, 5000))).equals(bytes)).to.equal(true);
    });

    it('records other bytes as mismatch and no bytes as missing, storing nothing', async () => {
      const mismatch = detectionWithClip({ ...camera, observedAt: T0 }, 'mismatch');
      expect(await resolveClip(store, mismatch.message)).to.deep.equal({ sha256: sha256Hex(mismatch.bytes), status: 'mismatch', cid: '' });
      const missing = detectionWithClip({ ...camera, observedAt: T0 }, 'missing');
      expect(await resolveClip(store, missing.message)).to.deep.equal({ sha256: sha256Hex(missing.bytes), status: 'missing', cid: '' });
      const sent = Buffer.from(mismatch.message.clip!, 'base64');
      const notStored = await collect(store.cat(await computeCid(Readable.from([sent])), 500)).catch((e: Error) => e);
      expect(notStored).to.be.instanceOf(Error);
    });

    it('leaves a detection without a signed clip as it was', async () => {
      const { message } = detectionWithClip({ ...camera, observedAt: T0 }, 'missing');
      const { clipSha256: _hash, ...detection } = message.detection;
      expect(await resolveClip(store, { ...message, detection })).to.equal(undefined);
    });
  });

  describe('pipeline', () => {
    let f: PipelineFixture;
    beforeEach(async () => {
      f = await pipelineFixture(dir.path, { requireSignature: true });
    });
    afterEach(() => f.close());
    const send = async (unsigned: StandardMessage) => {
      const m = await signStandardMessage(f.keyring.wallet(unsigned.deviceId)!, unsigned);
      return f.pipeline.handle(topicFor('ledger', { ...m, channel: m.kind }), Buffer.from(JSON.stringify(m)));
    };

    for (const delivery of ['attached', 'mismatch', 'missing'] as const) {
      it(`the alarm of a detection whose clip is ${delivery} carries the signed hash and its status`, async () => {
        await send(permitsMessage('reactor-3', 'confined_space', T0));
        const { message, bytes } = detectionWithClip({ ...camera, observedAt: T0 + 2000 }, delivery);
        await send(message);
        const alarm = f.outbox.pending().find((e) => e.alarm.fields.kind === 'behaviour.guardian_absent')?.alarm;
        expect(alarm, 'a guardian_absent alarm').to.not.equal(undefined);
        const status = delivery === 'attached' ? 'verified' : delivery;
        expect(alarm!.clip).to.deep.equal({ sha256: sha256Hex(bytes), status });
        expect(alarm!.fields.clipCid).to.equal(status === 'verified' ? await computeCid(Readable.from([bytes])) : '');
        if (status === 'verified') expect((await collect(f.clips.cat(alarm!.fields.clipCid, 5000))).equals(bytes)).to.equal(true);
        // The chaincode gets the clip status next to the signed reading, which names the clip by hash only.
        const argument = JSON.parse(raiseAlarmArgument(alarm!));
        expect(argument.clip).to.deep.equal({ sha256: sha256Hex(bytes), status });
        expect(JSON.parse(argument.reading.message).detection.clipSha256).to.equal(sha256Hex(bytes));
        expect(argument.reading.message).to.not.contain('"clip"');
      });
    }
  });
});
