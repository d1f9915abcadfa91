import { expect } from 'chai';
import { DeadLetterStore } from '../../src/outbox/dead-letter.js';
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
});
