/**
 * The SIMOPS index: which entries a live permit has, which ranges an Issue reads, and what that
 * means when several transactions are endorsed against the same state and committed in one block
 * (Harness.concurrently applies Fabric's MVCC and phantom-read validation to the fake ledger).
 */

import { OPERATION_TYPES, type PermitRecord, SIMOPS_ACTIVITIES, type SimopsRule } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { findSimopsConflicts, type SimopsPermit, type SimopsScan, type SimopsSlot, simopsScans, simopsSlots } from '../../src/simops';
import { KEYS } from '../../src/store';
import { DEFAULT_POLICY } from '../../src/templates';
import { application, CONFIRMER, fresh, gasTest, gateCheck, HOUR, iso, MIN, SITE, seed, signAll, toSignedOff, W1, W2, who, ZONE } from '../support/fixtures';
import { caller, type Harness, T0, workerId } from '../support/harness';

const NS = '\u0000';
const compositeKey = (type: string, attrs: string[]) => NS + type + NS + attrs.map((a) => a + NS).join('');
const covers = (scan: SimopsScan, slot: SimopsSlot) =>
  scan.selector === slot.selector && scan.kind === slot.kind && (scan.scope === null || scan.scope === slot.scope);

const permit = (no: string, o: Partial<SimopsPermit> & { loc?: Partial<PermitRecord['location']> } = {}): SimopsPermit => ({
  permitNo: no,
  operationType: o.operationType ?? 'hot_work',
  activities: o.activities ?? [],
  location: { siteId: 's', zoneId: 'z1', coordinates: { x: 0, y: 0 }, fireExplosionZone: false, outdoor: true, dikeId: null, pipelineId: null, ...o.loc },
});

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SIMOPS index: where a live permit is filed and what an Issue reads', () => {
  const rules = DEFAULT_POLICY.simopsRules;

  it('files a permit under its type and each activity, by zone, and by dike and pipeline when declared', () => {
    const p = permit('P', {
      operationType: 'blind_plate',
      activities: ['flammable_gas_release', 'sampling'],
      loc: { zoneId: 'z7', dikeId: 'D1', pipelineId: null },
    });
    expect(simopsSlots(p).map((s) => `${s.selector} ${s.kind} ${s.scope}`)).to.deep.equal([
      'act:flammable_gas_release zone z7',
      'act:flammable_gas_release dike D1',
      'act:sampling zone z7',
      'act:sampling dike D1',
      'op:blind_plate zone z7',
      'op:blind_plate dike D1',
    ]);
  });

  it('hot work reads the partitions of the work it must keep away from, never the hot-work partition', () => {
    const scans = simopsScans(permit('H', { loc: { dikeId: 'D1' } }), rules).map((s) => `${s.selector} ${s.kind} ${s.scope ?? '*'}`);
    expect(scans).to.deep.equal([
      'act:dust_sweeping zone *',
      'act:flammable_gas_release zone *',
      'act:flammable_liquid_release zone *',
      'act:painting zone *',
      'act:sampling dike D1',
      'act:solvent_cleaning zone *',
      'act:tank_draining dike D1',
      'op:blind_plate zone *',
    ]);
    expect(
      simopsSlots(permit('H2', { loc: { zoneId: 'z2', dikeId: 'D1' } })).some((slot) => simopsScans(permit('H'), rules).some((s) => covers(s, slot))),
    ).to.equal(false);
  });

  it('without coordinates only the zone is read; without a dike no dike rule is read', () => {
    const scans = simopsScans(permit('H', { loc: { coordinates: null } }), rules);
    expect(scans.every((s) => s.kind === 'zone' && s.scope === 'z1')).to.equal(true);
    expect(scans.map((s) => s.selector))
      .to.include('act:painting')
      .and.not.include('act:tank_draining');
  });

  it('a blind plate on a pipeline reads only that pipeline of the blind-plate partition', () => {
    const scans = simopsScans(permit('B', { operationType: 'blind_plate', loc: { pipelineId: 'L-1', fireExplosionZone: true } }), rules);
    expect(scans.map((s) => `${s.selector} ${s.kind} ${s.scope ?? '*'}`)).to.deep.equal(['op:blind_plate pipeline L-1', 'op:hot_work zone *']);
  });

  it('whenever the rules find a conflict, the candidate reads a range that holds the other permit (20,000 random pairs and policies)', () => {
    const next = random(20);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const selector = () => (next() < 0.5 ? { operationType: pick(OPERATION_TYPES) } : { activity: pick(SIMOPS_ACTIVITIES) });
    const randomPermit = (no: string): SimopsPermit =>
      permit(no, {
        operationType: pick(['hot_work', 'blind_plate', 'confined_space'] as const),
        activities: SIMOPS_ACTIVITIES.filter(() => next() < 0.25),
        loc: {
          zoneId: pick(['z1', 'z2', 'z3']),
          coordinates: next() < 0.7 ? { x: Math.floor(next() * 60), y: Math.floor(next() * 60) } : null,
          fireExplosionZone: next() < 0.5,
          dikeId: next() < 0.5 ? pick(['D1', 'D2']) : null,
          pipelineId: next() < 0.5 ? pick(['L1', 'L2']) : null,
        },
      });
    let conflicts = 0;
    for (let i = 0; i < 20_000; i++) {
      const policy: SimopsRule[] =
        i % 2 === 0
          ? rules
          : Array.from({ length: 1 + Math.floor(next() * 4) }, (_, r) => ({
              ruleId: `r${r}`,
              a: selector(),
              b: selector(),
              withinMetres: next() < 0.7 ? Math.floor(next() * 50) : null,
              sameDike: next() < 0.2,
              samePipeline: next() < 0.2,
              fireExplosionZoneOnly: next() < 0.3,
            }));
      const x = randomPermit('X');
      const y = randomPermit('Y');
      if (findSimopsConflicts(x, [y], policy).length === 0) continue;
      conflicts++;
      const scans = simopsScans(x, policy);
      const read = simopsSlots(y).some((slot) => scans.some((s) => covers(s, slot)));
      expect(read, `case ${i}: ${JSON.stringify({ x, y, policy })}`).to.equal(true);
    }
    // The generator must produce conflicts for the property to say anything.
    expect(conflicts).to.be.greaterThan(2_000);
  });
});

/** Hot work in its own zone, signed off at T0; `x` places it on the site grid (metres). */
async function hotWork(h: Harness, permitNo: string, zoneId: string, x: number, o: Record<string, unknown> = {}): Promise<void> {
  await toSignedOff(h, permitNo, {
    workers: [W1],
    location: { siteId: SITE, zoneId, coordinates: { x, y: 0 }, fireExplosionZone: false, outdoor: true },
    ...o,
  });
}

const simopsKeys = (h: Harness, permitNo: string) =>
  [...h.ledger.state.keys()].filter((k) => k.startsWith(NS + KEYS.simopsPermit + NS) && k.endsWith(NS + permitNo + NS));

describe('SIMOPS index on the ledger', () => {
  it('is written once at issue, untouched by later steps, and removed when the permit stops being live', async () => {
    const h = fresh();
    await seed(h);
    await hotWork(h, 'HW-1', ZONE, 0, {
      activities: ['painting'],
      location: { siteId: SITE, zoneId: ZONE, coordinates: null, fireExplosionZone: false, outdoor: true, dikeId: 'D1' },
    });
    expect(simopsKeys(h, 'HW-1')).to.deep.equal([]);
    const issued = await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'HW-1' });
    const keys = simopsKeys(h, 'HW-1');
    expect(keys.sort()).to.deep.equal(
      [
        [SITE, 'act:painting', 'zone', ZONE, 'HW-1'],
        [SITE, 'act:painting', 'dike', 'D1', 'HW-1'],
        [SITE, 'op:hot_work', 'zone', ZONE, 'HW-1'],
        [SITE, 'op:hot_work', 'dike', 'D1', 'HW-1'],
      ]
        .map((a) => compositeKey(KEYS.simopsPermit, a))
        .sort(),
    );
    expect(JSON.parse(h.ledger.state.get(keys[0]!)!.toString('utf8'))).to.deep.equal({
      activities: ['painting'],
      location: issued.location,
      operationType: 'hot_work',
      permitNo: 'HW-1',
      validUntil: issued.validUntil,
    });
    expect(h.ledger.state.has(compositeKey(KEYS.livePermit, [SITE, ZONE, 'HW-1']))).to.equal(true);

    await h.ok('permit', 'Brief', who.pic, { permitNo: 'HW-1', briefedWorkerIds: [W1] });
    await h.ok('permit', 'RecordGasTest', who.analyst, gasTest('HW-1', {}, h.now));
    h.now = T0 + HOUR - 10 * MIN;
    for (const w of [W1, issued.guardianId]) {
      await h.ok('credential', 'RecordGateCheck', who.gateway, gateCheck(`gc-${w.slice(0, 6)}`, 'HW-1', w));
    }
    await h.ok('permit', 'RecordGasTest', who.analyst, gasTest('HW-1', {}, h.now));
    h.now = T0 + HOUR;
    await h.ok('permit', 'Activate', who.pic, { permitNo: 'HW-1' });
    await h.ok('permit', 'Suspend', who.pic, { permitNo: 'HW-1', reason: 'interruption', note: 'lunch' });
    await h.ok('permit', 'Resume', who.pic, { permitNo: 'HW-1' });
    for (const k of keys) expect(h.ledger.history.get(k), 'one write per entry, at issue').to.have.length(1);

    await h.ok('permit', 'Complete', who.pic, { permitNo: 'HW-1', siteRestored: true });
    expect(simopsKeys(h, 'HW-1')).to.deep.equal([]);
    expect(h.ledger.state.has(compositeKey(KEYS.livePermit, [SITE, ZONE, 'HW-1']))).to.equal(false);
  });

  it('refuses a conflicting permit, and ignores a live permit whose validity has run out even if nobody recorded it', async () => {
    const h = fresh();
    await seed(h);
    // Painting with hot work 5 m away in another zone, valid one hour from T0 + 1 h.
    await hotWork(h, 'PT-1', 'zone-p', 5, { workers: [W2], activities: ['painting'], plannedEnd: iso(T0 + 2 * HOUR) });
    const pt = await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'PT-1' });
    expect(pt.validUntil).to.equal(iso(T0 + 2 * HOUR));
    await hotWork(h, 'HW-2', 'zone-h', 0);
    const other = caller('approver', { dept: 'unit-a', workerId: workerId('approver-2') });
    h.now = T0 + 2 * HOUR - 1;
    const m = await h.fails('RULE_VIOLATION', 'permit', 'Issue', other, { permitNo: 'HW-2' });
    expect(m).to.contain('PT-1 (hot-vs-painting-10m)');
    h.now = T0 + 2 * HOUR;
    expect((await h.ok<PermitRecord>('permit', 'Issue', other, { permitNo: 'HW-2' })).status).to.equal('issued');
  });

  it("unrelated permits on one site: Issues and other permits' steps endorsed at once all commit", async () => {
    const h = fresh();
    await seed(h);
    await hotWork(h, 'HW-A', 'zone-1', 0);
    await hotWork(h, 'HW-B', 'zone-2', 100);
    await hotWork(h, 'HW-C', 'zone-3', 200);
    await hotWork(h, 'HW-D', 'zone-4', 300);
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'HW-C' });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'HW-D' });
    await h.ok(
      'permit',
      'Apply',
      who.applicant,
      application('HW-E', {
        workers: [W2],
        location: { siteId: SITE, zoneId: 'zone-5', coordinates: { x: 400, y: 0 }, fireExplosionZone: false, outdoor: true },
      }),
    );
    const outcomes = await h.concurrently([
      { contract: 'permit', fn: 'Issue', who: who.approverUnit, input: { permitNo: 'HW-A' } },
      { contract: 'permit', fn: 'Issue', who: who.approverUnit, input: { permitNo: 'HW-B' } },
      { contract: 'permit', fn: 'Brief', who: who.pic, input: { permitNo: 'HW-C', briefedWorkerIds: [W1] } },
      { contract: 'permit', fn: 'Revoke', who: who.safety1, input: { permitNo: 'HW-D', reason: 'Scope changed' } },
      {
        contract: 'permit',
        fn: 'AssessRisk',
        who: who.pic,
        input: {
          permitNo: 'HW-E',
          confirmations: [
            { measureId: 'm1', confirmedBy: CONFIRMER },
            { measureId: 'm2', confirmedBy: CONFIRMER },
          ],
        },
      },
    ]);
    expect(outcomes.map((o) => o.validation)).to.deep.equal(['VALID', 'VALID', 'VALID', 'VALID', 'VALID']);
    const live = await h.read<PermitRecord[]>('permit', 'ListLive', who.pic, { siteId: SITE });
    expect(live.map((p) => [p.permitNo, p.status])).to.deep.equal([
      ['HW-A', 'issued'],
      ['HW-B', 'issued'],
      ['HW-C', 'briefed'],
    ]);
  });

  it('conflicting permits issued at once: the later in the block is a phantom read, and issued again it is refused', async () => {
    const h = fresh();
    await seed(h);
    await hotWork(h, 'HW-X', 'zone-1', 0);
    await hotWork(h, 'PT-X', 'zone-2', 5, { workers: [W2], activities: ['painting'] });
    const [first, second] = await h.concurrently([
      { contract: 'permit', fn: 'Issue', who: who.approverUnit, input: { permitNo: 'PT-X' } },
      { contract: 'permit', fn: 'Issue', who: who.approverUnit, input: { permitNo: 'HW-X' } },
    ]);
    expect([first!.validation, second!.validation]).to.deep.equal(['VALID', 'PHANTOM_READ_CONFLICT']);
    expect((await h.read<PermitRecord>('permit', 'Get', who.pic, { permitNo: 'HW-X' })).status).to.equal('signed_off');
    expect(await h.fails('RULE_VIOLATION', 'permit', 'Issue', who.approverUnit, { permitNo: 'HW-X' })).to.contain('PT-X');
  });

  it('blind plates on different pipelines are issued at once; on the same pipeline one is invalidated', async () => {
    for (const [pipes, expected] of [
      [
        ['L-1', 'L-2'],
        ['VALID', 'VALID'],
      ],
      [
        ['L-1', 'L-1'],
        ['VALID', 'PHANTOM_READ_CONFLICT'],
      ],
    ] as const) {
      const h = fresh();
      await seed(h);
      for (const [i, pipelineId] of pipes.entries()) {
        const permitNo = `BP-${i}`;
        await h.ok(
          'permit',
          'Apply',
          who.applicant,
          application(permitNo, {
            operationType: 'blind_plate',
            level: 'single',
            workers: [i === 0 ? W1 : W2],
            location: { siteId: SITE, zoneId: `zone-${i}`, coordinates: null, fireExplosionZone: true, outdoor: true, pipelineId },
          }),
        );
        await h.ok('permit', 'AssessRisk', who.pic, {
          permitNo,
          confirmations: [
            { measureId: 'm1', confirmedBy: CONFIRMER },
            { measureId: 'm2', confirmedBy: CONFIRMER },
          ],
        });
        await signAll(h, permitNo);
      }
      const outcomes = await h.concurrently(
        ['BP-0', 'BP-1'].map((permitNo) => ({ contract: 'permit' as const, fn: 'Issue', who: who.approverUnit, input: { permitNo } })),
      );
      expect(
        outcomes.map((o) => o.validation),
        pipes.join(' '),
      ).to.deep.equal(expected);
    }
  });
});

describe('SIMOPS index: permits made live by the chaincode before the index', () => {
  /** Turns a live permit into one issued by the earlier chaincode: the old live entry only. */
  function makeLegacy(h: Harness, permitNo: string, zoneId: string): void {
    for (const k of simopsKeys(h, permitNo)) h.ledger.state.delete(k);
    h.ledger.state.delete(compositeKey(KEYS.livePermit, [SITE, zoneId, permitNo]));
    h.ledger.state.set(compositeKey(KEYS.legacyLivePermit, [SITE, zoneId, permitNo]), Buffer.from('{}'));
  }

  it('still stop a conflicting Issue, are listed live, and leave the old index when they end', async () => {
    const h = fresh();
    await seed(h);
    await hotWork(h, 'OLD-1', 'zone-o', 0, { workers: [W2], activities: ['painting'] });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'OLD-1' });
    makeLegacy(h, 'OLD-1', 'zone-o');
    await hotWork(h, 'HW-N', 'zone-n', 5);
    expect(await h.fails('RULE_VIOLATION', 'permit', 'Issue', who.approverUnit, { permitNo: 'HW-N' })).to.contain('OLD-1');
    expect((await h.read<PermitRecord[]>('permit', 'ListLive', who.pic, { siteId: SITE, areaId: 'zone-o' })).map((p) => p.permitNo)).to.deep.equal(['OLD-1']);

    await h.ok('permit', 'Revoke', who.safety1, { permitNo: 'OLD-1', reason: 'Superseded' });
    const indexKeys = [...h.ledger.state.keys()].filter((k) => k.includes('OLD-1') && !k.startsWith(NS + KEYS.permit + NS) && k.includes(NS));
    expect(indexKeys).to.deep.equal([]);
    expect(h.ledger.blocks[h.ledger.blocks.length - 1]!.writes.map((w) => [w.key, w.value === null])).to.deep.include([
      compositeKey(KEYS.legacyLivePermit, [SITE, 'zone-o', 'OLD-1']),
      true,
    ]);
    expect((await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'HW-N' })).status).to.equal('issued');
  });
});
