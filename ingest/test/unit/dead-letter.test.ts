import { expect } from 'chai';
import { Wallet } from 'ethers';
import { DeadLetterStore } from '../../src/outbox/dead-letter.js';
import { recoverGradingSigner, recoverReadingSigner } from '../../src/pipeline/alarm-signature.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { signStandardMessage } from '../../src/pipeline/message-signature.js';
import { signVendorPayload } from '../../tools/simulator.js';
import { toGasmon } from '../../tools/vendor-payloads.js';
import { tankFarmReading } from '../support/burst.js';
import { type PipelineFixture, pipelineFixture } from '../support/pipeline.js';
import { tempDir } from '../support/temp.js';

const T0 = Date.parse('2026-11-30T02:00:00Z');
const reading = (deviceId: string, n: number, r: object) => tankFarmReading(T0, deviceId, n, r);

describe('dead letters', () => {
  let dir: ReturnType<typeof tempDir>;
  let f: PipelineFixture;
  beforeEach(async () => {
    dir = tempDir();
    f = await pipelineFixture(dir.path);
  });
  afterEach(async () => {
    await f.close();
    dir.remove();
  });

  it('every invalid message is stored durably with its reason and exact bytes; valid ones are not', async () => {
    const invalid: Array<[string, Buffer, string]> = [
      ['ledger/v1/site-1/tank-farm/gas-tank-farm/env', Buffer.from('not json'), 'json'],
      ['ledger/v1/site-1/tank-farm/gas-tank-farm/env', reading('gas-tank-farm', 1, { o2VolPct: 140 }), 'schema'],
      ['ledger/v1/site-1/tank-farm/gas-tank-farm/env', reading('gas-other', 2, { o2VolPct: 20 }), 'mismatch'],
      ['ledger/v9/site-1/tank-farm/gas-tank-farm/env', reading('gas-tank-farm', 3, { o2VolPct: 20 }), 'topic'],
      ['ledger/v1/site-1/tank-farm/gas-tank-farm/raw/nobody', Buffer.from('{}'), 'adapter'],
      ['ledger/v1/site-1/tank-farm/gas-tank-farm/raw/gasmon', Buffer.from('{"sn":"x"}'), 'adapter'],
    ];
    for (const [topic, payload] of invalid) {
      const r = await f.pipeline.handle(topic, payload);
      expect(r.status).to.equal('invalid');
    }
    const ok = await f.pipeline.handle('ledger/v1/site-1/tank-farm/gas-tank-farm/env', reading('gas-tank-farm', 4, { o2VolPct: 20.9 }));
    expect(ok.status).to.equal('accepted');

    // Read back through a fresh store, as an operator would after a restart.
    await f.deadLetters.close();
    const reopened = await DeadLetterStore.open(dir.path);
    const letters = reopened.readAll();
    await reopened.close();
    f.deadLetters = await DeadLetterStore.open(dir.path);
    expect(letters.map((l) => l.code)).to.deep.equal(invalid.map((i) => i[2]));
    letters.forEach((l, i) => {
      expect(l.topic).to.equal(invalid[i]![0]);
      expect(Buffer.from(l.payloadBase64, 'base64').equals(invalid[i]![1])).to.equal(true);
      expect(l.reason).to.be.a('string').and.not.empty;
    });
    expect(letters[1]!.reason).to.contain('reading.o2VolPct');
    expect(letters[4]!.reason).to.contain('no adapter for vendor nobody');
    const metrics = await f.metrics.registry.getSingleMetricAsString('ingest_invalid_messages_total');
    expect(metrics).to.contain('ingest_invalid_messages_total{code="adapter"} 2');
  });

  it('an unsigned message is refused when signatures are required, and not scored', async () => {
    await f.close();
    f = await pipelineFixture(dir.path, { requireSignature: true });
    const r = await f.pipeline.handle('ledger/v1/site-1/tank-farm/gas-tank-farm/env', reading('gas-tank-farm', 1, { flammableLelPct: 50 }));
    expect(r).to.deep.include({ status: 'invalid' });
    expect(f.outbox.depth).to.equal(0);
    expect(f.deadLetters.readAll().at(-1)?.code).to.equal('signature');
  });

  describe('signed messages required (the default)', () => {
    const TOPIC = 'ledger/v1/site-1/tank-farm/gas-tank-farm/env';
    const leak = JSON.parse(reading('gas-tank-farm', 7, { flammableLelPct: 50, flammableGasLelVolPct: 5 }).toString()) as StandardMessage;
    beforeEach(async () => {
      await f.close();
      f = await pipelineFixture(dir.path, { requireSignature: true });
    });

    it("a message signed by the device raises an alarm carrying the device's signature and the service's grading", async () => {
      const signed = await signStandardMessage(f.keyring.wallet('gas-tank-farm')!, leak);
      const r = await f.pipeline.handle(TOPIC, Buffer.from(JSON.stringify(signed)));
      if (r.status !== 'accepted') throw new Error(r.reason);
      expect(r.alarms.length).to.be.greaterThan(0);
      for (const a of r.alarms) {
        expect(a.fields.deviceId).to.equal('gas-tank-farm');
        expect(a.serviceId).to.equal('ingest-test');
        expect(recoverReadingSigner(a)).to.equal(f.keyring.wallet('gas-tank-farm')!.address);
        expect(recoverGradingSigner(a)).to.equal(f.service.wallet.address);
      }
    });

    it('a forged or tampered signature, and an unsigned message, go to dead letters with the reason and raise nothing', async () => {
      const forged = await signStandardMessage(Wallet.createRandom(), leak);
      const genuine = await signStandardMessage(f.keyring.wallet('gas-tank-farm')!, leak);
      const tampered = { ...genuine, reading: { ...(leak.kind === 'env' ? leak.reading : {}), flammableLelPct: 5 } };
      for (const m of [forged, tampered, leak]) {
        expect(await f.pipeline.handle(TOPIC, Buffer.from(JSON.stringify(m)))).to.deep.include({ status: 'invalid' });
      }
      expect(f.outbox.depth).to.equal(0);
      const letters = f.deadLetters.readAll();
      expect(letters.map((l) => l.code)).to.deep.equal(['signature', 'signature', 'signature']);
      expect(letters[0]!.reason).to.contain('does not match the key registered for device gas-tank-farm');
      expect(letters[1]!.reason).to.contain('does not match the key registered for device gas-tank-farm');
      expect(letters[2]!.reason).to.match(/unsigned message from device gas-tank-farm refused.*INGEST_REQUIRE_SIGNED_MESSAGES=false/);
    });

    it("a vendor test device's payload carries its signature over the mapped standard message; without one it is refused", async () => {
      const topic = 'ledger/v1/site-1/tank-farm/gas-tank-farm/raw/gasmon';
      const vendor = toGasmon(leak as Extract<StandardMessage, { kind: 'env' }>, 11);
      const unsigned = await f.pipeline.handle(topic, Buffer.from(JSON.stringify(vendor.payload)));
      expect(unsigned).to.deep.include({ status: 'invalid' });
      const signed = await signVendorPayload(f.keyring, topic, 'ledger', vendor.payload);
      const r = await f.pipeline.handle(topic, Buffer.from(JSON.stringify(signed)));
      if (r.status !== 'accepted') throw new Error(r.reason);
      expect(r.alarms.length).to.be.greaterThan(0);
      expect(recoverReadingSigner(r.alarms[0]!)).to.equal(f.keyring.wallet('gas-tank-farm')!.address);
    });
  });
});
