/** The pin policy: which evidence keeps the one-month video period and which the six-year record. */
import { expect } from 'chai';
import { retainUntil, retentionOf } from '../../src/evidence-pinner.js';

const DAY_MS = 86_400_000;

describe('indexer: evidence pin retention', () => {
  it('keeps plain video for the video period and everything tied to an alarm or incident, and every document, for the record', () => {
    expect(retentionOf({ mediaType: 'video/mp4', step: 'execution', tiedToAlarmOrIncident: false })).to.equal('video');
    expect(retentionOf({ mediaType: 'video/mp4', step: 'execution', tiedToAlarmOrIncident: true })).to.equal('record');
    expect(retentionOf({ mediaType: 'video/mp4', step: 'suspension', tiedToAlarmOrIncident: false })).to.equal('record');
    expect(retentionOf({ mediaType: 'video/mp4', step: null, tiedToAlarmOrIncident: true })).to.equal('record');
    expect(retentionOf({ mediaType: 'application/pdf', step: 'application', tiedToAlarmOrIncident: false })).to.equal('record');
    expect(retentionOf({ mediaType: 'image/jpeg', step: 'gas_test', tiedToAlarmOrIncident: false })).to.equal('record');
  });

  it('keeps the photo of the person at a gate check for the short period, unless the check is part of an incident', () => {
    expect(retentionOf({ mediaType: 'image/jpeg', step: null, tiedToAlarmOrIncident: false, gatePhoto: true })).to.equal('personal');
    expect(retentionOf({ mediaType: 'video/mp4', step: null, tiedToAlarmOrIncident: true, gatePhoto: true })).to.equal('record');
    const policy = { videoRetainMs: 31 * DAY_MS, recordRetainMs: (6 * 365 + 2) * DAY_MS };
    const at = new Date('2026-01-31T08:00:00Z');
    expect(retainUntil('personal', at, policy).toISOString()).to.equal(retainUntil('video', at, policy).toISOString());
  });

  it('counts each period from the recording', () => {
    const policy = { videoRetainMs: 31 * DAY_MS, recordRetainMs: (6 * 365 + 2) * DAY_MS };
    const at = new Date('2026-01-31T08:00:00Z');
    expect(retainUntil('video', at, policy).toISOString()).to.equal('2026-03-03T08:00:00.000Z');
    // 6 × 365 + 2 days covers six calendar years whichever two leap days fall in them: here one
    // does, so the pin outlives the six years by a day rather than falling short.
    expect(retainUntil('record', at, policy).toISOString()).to.equal('2032-02-01T08:00:00.000Z');
  });
});
