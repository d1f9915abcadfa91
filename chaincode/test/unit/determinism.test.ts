import { expect } from 'chai';
import { alarmFields, CAMERA_KEY, fresh, seed, signAlarm, toActive, who } from '../support/fixtures';

/**
 * Two endorsers execute the same proposals: their write sets and events must be byte-identical,
 * or the transaction fails endorsement. Running the same scenario on two independent in-memory
 * ledgers, with a pause in between, catches any use of wall-clock time, randomness or unordered
 * JSON.
 */
describe('determinism: two endorsers produce identical write sets and events', () => {
  async function run() {
    const h = fresh();
    await seed(h);
    await toActive(h, 'DET-1');
    const alarm = alarmFields({ alarmId: 'det-a', grade: 1 });
    await h.ok('alarm', 'Record', who.gateway, { alarm, signature: await signAlarm(CAMERA_KEY, alarm) });
    await h.ok('permit', 'Flag', who.regulator, { permitNo: 'DET-1', flagId: 'f', reason: 'Spot check' });
    return h.ledger.blocks.map((b) => ({ writes: b.writes, events: b.events, response: b.response, privateWrites: b.privateWrites }));
  }

  it('replays a whole permit with an alarm identically', async () => {
    const first = await run();
    await new Promise((r) => setTimeout(r, 25));
    const second = await run();
    expect(first.length).to.be.greaterThan(20);
    expect(JSON.stringify(second)).to.equal(JSON.stringify(first));
    // and every value written is canonical JSON (sorted keys at every depth)
    for (const b of first) {
      for (const w of b.writes) {
        if (w.value === null) continue;
        const sorted = JSON.stringify(JSON.parse(w.value), (_k, v) =>
          v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [c]) => (a < c ? -1 : 1))) : v,
        );
        expect(w.value).to.equal(sorted);
      }
    }
  });
});
