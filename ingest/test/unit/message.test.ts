import { SignerKeys } from '@compliance-ledger/gate-verifier/secp256k1';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { parseTopic, topicFor } from '../../src/mqtt/topics.js';
import { decodeMessage } from '../../src/pipeline/decode.js';
import { messageSchema, type StandardMessage } from '../../src/pipeline/message.js';
import { signStandardMessage } from '../../src/pipeline/message-signature.js';
import { rawCid } from '../../tools/scenarios.js';

const T0 = Date.parse('2026-11-30T02:00:00Z');
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const env = {
  v: 1,
  kind: 'env',
  messageId: 'gas-a-1',
  siteId: 'site-1',
  areaId: 'tank-farm',
  deviceId: 'gas-a',
  observedAt: T0,
  reading: { flammableLelPct: 3.5, flammableGasLelVolPct: 5, o2VolPct: 20.9, h2sPpm: 0.2, coPpm: 1, temperatureC: 21, windMs: 2.5 },
};
const ai = {
  v: 1,
  kind: 'ai',
  messageId: 'cam-a-1',
  siteId: 'site-1',
  areaId: 'tank-farm',
  deviceId: 'cam-a',
  observedAt: T0,
  detection: { behaviour: 'smoking', confidence: 0.91, bbox: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 }, cameraId: 'cam-a', clipCid: rawCid('clip') },
};

describe('message standard', () => {
  describe('topics', () => {
    it('round-trips the v1 layout and names the adapter for raw topics', () => {
      const t = topicFor('ledger', { siteId: 's', areaId: 'a', deviceId: 'd', channel: 'env' });
      expect(t).to.equal('ledger/v1/s/a/d/env');
      expect(parseTopic('ledger', t)).to.deep.equal({ siteId: 's', areaId: 'a', deviceId: 'd', channel: 'env' });
      expect(parseTopic('ledger', 'ledger/v1/s/a/d/raw/gasmon')).to.deep.include({ channel: 'raw', vendor: 'gasmon' });
    });
    it('refuses other versions, unknown channels and wrong depth', () => {
      expect(parseTopic('ledger', 'ledger/v2/s/a/d/env'))
        .to.have.property('error')
        .that.matches(/version/);
      expect(parseTopic('ledger', 'ledger/v1/s/a/d/video'))
        .to.have.property('error')
        .that.matches(/channel/);
      expect(parseTopic('ledger', 'ledger/v1/s/a/d/env/extra')).to.have.property('error');
      expect(parseTopic('ledger', 'ledger/v1/s/a')).to.have.property('error');
      expect(() => topicFor('ledger', { siteId: 's/x', areaId: 'a', deviceId: 'd', channel: 'env' })).to.throw();
    });
  });

  describe('schema', () => {
    it('accepts a full reading and a detection with a clip CID', () => {
      expect(messageSchema.safeParse(env).success).to.equal(true);
      expect(messageSchema.safeParse(ai).success).to.equal(true);
    });
    it('refuses out-of-range values, unknown behaviours, boxes leaving the frame and bad CIDs', () => {
      const bad = [
        { ...env, reading: { ...env.reading, flammableLelPct: 101 } },
        { ...env, reading: { o2VolPct: -1 } },
        { ...env, reading: {} },
        { ...env, reading: { flammableGasLelVolPct: 5 } },
        { ...env, observedAt: 1234 },
        { ...env, extra: true },
        { ...ai, detection: { ...ai.detection, behaviour: 'dancing' } },
        { ...ai, detection: { ...ai.detection, confidence: 1.2 } },
        { ...ai, detection: { ...ai.detection, bbox: { x: 0.8, y: 0, w: 0.3, h: 0.1 } } },
        { ...ai, detection: { ...ai.detection, clipCid: 'not-a-cid' } },
        { ...env, v: 2 },
      ];
      for (const b of bad) expect(messageSchema.safeParse(b).success, JSON.stringify(b)).to.equal(false);
    });
    it('generates CIDs in the CIDv1 raw base32 form', () => {
      expect(rawCid('x')).to.match(/^bafkrei[a-z2-7]{52}$/);
    });
  });

  describe('decode', () => {
    const opts = { topicRoot: 'ledger' };
    it('decodes a standard message whose topic matches', () => {
      const r = decodeMessage('ledger/v1/site-1/tank-farm/gas-a/env', bytes(env), opts);
      expect(r.ok).to.equal(true);
    });
    it('refuses a payload that claims another device or channel than its topic', () => {
      const r1 = decodeMessage('ledger/v1/site-1/tank-farm/gas-b/env', bytes(env), opts);
      expect(r1).to.deep.include({ ok: false, code: 'mismatch' });
      const r2 = decodeMessage('ledger/v1/site-1/tank-farm/gas-a/ai', bytes(env), opts);
      expect(r2).to.deep.include({ ok: false, code: 'mismatch' });
    });
    it('refuses non-JSON and reports schema paths', () => {
      expect(decodeMessage('ledger/v1/site-1/tank-farm/gas-a/env', Buffer.from('{oops'), opts)).to.deep.include({ ok: false, code: 'json' });
      const r = decodeMessage('ledger/v1/site-1/tank-farm/gas-a/env', bytes({ ...env, reading: { o2VolPct: 'x' } }), opts);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.reason).to.contain('reading.o2VolPct');
    });

    it('refuses messages stamped too far in the future, not late ones', () => {
      const topic = 'ledger/v1/site-1/tank-farm/gas-a/env';
      const clock = { ...opts, maxFutureSkewMs: 300_000, now: () => T0 };
      expect(decodeMessage(topic, bytes({ ...env, observedAt: T0 + 300_000 }), clock).ok).to.equal(true);
      expect(decodeMessage(topic, bytes({ ...env, observedAt: T0 + 300_001 }), clock)).to.deep.include({ ok: false, code: 'clock' });
      expect(decodeMessage(topic, bytes({ ...env, observedAt: T0 - 86_400_000 }), clock).ok).to.equal(true);
    });

    it('maps the gasmon vendor payload with unit conversions', () => {
      const payload = {
        sn: 'GM-0042',
        seq: 17,
        ts: '2026-11-30T02:00:00.000Z',
        channels: [
          { ch: 'EX', value: 12, unit: '%LEL', gas: 'C3H8' },
          { ch: 'O2', value: 20.7, unit: '%VOL' },
          { ch: 'CO', value: 28.01, unit: 'mg/m3' },
          { ch: 'H2S', value: 3, unit: 'ppm' },
          { ch: 'TEMP', value: 68, unit: 'F' },
          { ch: 'WS', value: 36, unit: 'km/h' },
        ],
      };
      const r = decodeMessage('ledger/v1/site-1/tank-farm/gas-a/raw/gasmon', bytes(payload), opts);
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.vendor).to.equal('gasmon');
      expect(r.message).to.deep.include({ kind: 'env', messageId: 'GM-0042-17', deviceId: 'gas-a', observedAt: T0 });
      if (r.message.kind !== 'env') throw new Error('kind');
      expect(r.message.reading).to.deep.equal({
        flammableLelPct: 12,
        flammableGasLelVolPct: 2.1,
        o2VolPct: 20.7,
        coPpm: 24.45,
        h2sPpm: 3,
        temperatureC: 20,
        windMs: 10,
      });
    });
    it('refuses gasmon frames with unknown units or gases, with the reason', () => {
      const base = { sn: 'GM-1', seq: 1, ts: '2026-11-30T02:00:00Z' };
      const r1 = decodeMessage('ledger/v1/s/a/d/raw/gasmon', bytes({ ...base, channels: [{ ch: 'EX', value: 1, unit: 'ppm' }] }), opts);
      expect(r1).to.deep.include({ ok: false, code: 'adapter' });
      const r2 = decodeMessage('ledger/v1/s/a/d/raw/gasmon', bytes({ ...base, channels: [{ ch: 'EX', value: 1, unit: '%LEL', gas: 'XX' }] }), opts);
      if (r2.ok) throw new Error('accepted');
      expect(r2.reason).to.contain('unknown calibration gas XX');
    });

    it('maps the visionbox vendor payload onto a normalised detection', () => {
      const cid = rawCid('clip-77');
      const payload = {
        eventId: 'e-77',
        cam: 'CAM-7',
        event: { code: 107 },
        score: 87,
        box: [480, 270, 960, 810],
        frame: { w: 1920, h: 1080 },
        time: T0 / 1000,
        clip: { cid },
      };
      const r = decodeMessage('ledger/v1/site-1/reactor-3/cam-r3/raw/visionbox', bytes(payload), opts);
      expect(r.ok).to.equal(true);
      if (!r.ok || r.message.kind !== 'ai') throw new Error('not a detection');
      expect(r.message.detection).to.deep.equal({
        behaviour: 'guardian_absent',
        confidence: 0.87,
        bbox: { x: 0.25, y: 0.25, w: 0.25, h: 0.5 },
        cameraId: 'CAM-7',
        clipCid: cid,
      });
      expect(r.message.observedAt).to.equal(T0);
    });
    it("maps a visionbox clip's signed sha256 into the detection and its bytes beside it", () => {
      const data = Buffer.from('clip bytes').toString('base64');
      const sha256 = `0x${'7e'.repeat(32)}`;
      const payload = { eventId: 'e-78', cam: 'CAM-7', event: { code: 107 }, score: 87, box: [0, 0, 10, 10], frame: { w: 100, h: 100 }, time: T0 / 1000 };
      const r = decodeMessage('ledger/v1/site-1/reactor-3/cam-r3/raw/visionbox', bytes({ ...payload, clip: { sha256, data } }), opts);
      if (!r.ok || r.message.kind !== 'ai') throw new Error('not a detection');
      expect(r.message.detection.clipSha256).to.equal(sha256);
      expect(r.message.clip).to.equal(data);
    });
    it('refuses visionbox events with unknown codes and boxes that the schema rejects', () => {
      const payload = { eventId: 'e', cam: 'C', event: { code: 999 }, score: 50, box: [0, 0, 1, 1], frame: { w: 10, h: 10 }, time: T0 / 1000 };
      expect(decodeMessage('ledger/v1/s/a/d/raw/visionbox', bytes(payload), opts)).to.deep.include({ ok: false, code: 'adapter' });
      const outside = { ...payload, event: { code: 101 }, box: [5, 5, 20, 6] };
      expect(decodeMessage('ledger/v1/s/a/d/raw/visionbox', bytes(outside), opts)).to.deep.include({ ok: false, code: 'schema' });
      expect(decodeMessage('ledger/v1/s/a/d/raw/acme', bytes(payload), opts)).to.deep.include({ ok: false, code: 'adapter' });
    });

    it('checks device signatures against the registered address', async () => {
      const device = Wallet.createRandom();
      const other = Wallet.createRandom();
      const addresses = new Map([['gas-a', device.address.toLowerCase()]]);
      const topic = 'ledger/v1/site-1/tank-farm/gas-a/env';
      const good = await signStandardMessage(device, env as StandardMessage);
      expect(decodeMessage(topic, bytes(good), { ...opts, deviceAddresses: addresses, requireSignature: true }).ok).to.equal(true);
      const forged = await signStandardMessage(other, env as StandardMessage);
      expect(decodeMessage(topic, bytes(forged), { ...opts, deviceAddresses: addresses })).to.deep.include({ ok: false, code: 'signature' });
      const tampered = { ...good, reading: { ...env.reading, flammableLelPct: 0 } };
      expect(decodeMessage(topic, bytes(tampered), { ...opts, deviceAddresses: addresses })).to.deep.include({ ok: false, code: 'signature' });
      expect(decodeMessage(topic, bytes(env), { ...opts, deviceAddresses: addresses, requireSignature: true })).to.deep.include({
        ok: false,
        code: 'signature',
      });
    });

    it("decides the same against a device's key table as by recovery, for devices within the tables and beyond them", async () => {
      const [a, b, rogue] = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
      // Registry addresses are lower case; the tables take either casing.
      const addresses = new Map([
        ['gas-a', a.address.toLowerCase()],
        ['gas-b', b.address.toLowerCase()],
      ]);
      // One table: gas-a gets it with its first valid message, gas-b stays with recovery.
      const deviceKeys = new SignerKeys(1);
      const withTables = { ...opts, deviceAddresses: addresses, requireSignature: true, deviceKeys };
      const byRecovery = { ...opts, deviceAddresses: addresses, requireSignature: true };
      const cases: [string, Uint8Array, boolean][] = [];
      for (const [deviceId, wallet] of [
        ['gas-a', a],
        ['gas-b', b],
      ] as const) {
        const topic = `ledger/v1/site-1/tank-farm/${deviceId}/env`;
        for (let i = 0; i < 3; i++) {
          const good = await signStandardMessage(wallet, { ...env, deviceId, messageId: `${deviceId}-${i}` } as StandardMessage);
          cases.push([`${deviceId} good ${i}`, bytes(good), true]);
          cases.push([`${deviceId} changed ${i}`, bytes({ ...good, reading: { ...env.reading, flammableLelPct: i + 7 } }), false]);
          const forged = await signStandardMessage(rogue, { ...env, deviceId, messageId: `${deviceId}-${i}` } as StandardMessage);
          cases.push([`${deviceId} forged ${i}`, bytes(forged), false]);
          // s out of range (above n) and a recovery byte that is neither 27 nor 28: refused, not thrown.
          cases.push([`${deviceId} bad s ${i}`, bytes({ ...good, sig: `${good.sig!.slice(0, 66)}${'f'.repeat(64)}${good.sig!.slice(130)}` }), false]);
          cases.push([`${deviceId} bad v ${i}`, bytes({ ...good, sig: `${good.sig!.slice(0, 130)}05` }), false]);
          // The other recovery byte: valid (r, s) for the device's key, but recovery (the ledger's check) names another signer.
          const otherV = good.sig!.endsWith('1b') ? '1c' : '1b';
          cases.push([`${deviceId} other recovery byte ${i}`, bytes({ ...good, sig: `${good.sig!.slice(0, 130)}${otherV}` }), false]);
        }
        for (const [name, payload, accepted] of cases.splice(0)) {
          const expected = accepted ? { ok: true } : { ok: false, code: 'signature' };
          expect(decodeMessage(topic, payload, byRecovery), `${name}, by recovery`).to.deep.include(expected);
          expect(decodeMessage(topic, payload, withTables), `${name}, with tables`).to.deep.include(expected);
        }
      }
      expect(deviceKeys.size, 'only gas-a has a table').to.equal(1);
    });
  });
});

describe('message JSON Schema', () => {
  it('the committed schema/*.schema.json files are generated from the zod schemas', async () => {
    const { readFileSync } = await import('node:fs');
    const { SCHEMA_FILES } = await import('../../tools/message-json-schema.js');
    expect(Object.keys(SCHEMA_FILES)).to.deep.equal(['message-v1.schema.json', 'batch-v1.schema.json']);
    for (const [name, make] of Object.entries(SCHEMA_FILES)) {
      const committed = readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8');
      expect(committed, `regenerate with: npm run message-schema (${name})`).to.equal(make());
    }
  });
});
