import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import type { LedgerOutcome } from '../../src/outbox/alarm-ledger.js';
import { Outbox } from '../../src/outbox/outbox.js';
import { OutboxDelivery } from '../../src/outbox/outbox-delivery.js';
import { type SignedAlarm, signAlarm } from '../../src/pipeline/alarm-signature.js';
import { sampleAlarm } from '../support/alarms.js';
import { LedgerDouble } from '../support/ledger-doubles.js';
import { tempDir, waitFor } from '../support/temp.js';

const fast = { initialBackoffMs: 5, maxBackoffMs: 40 };

describe('outbox', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it('enqueue is idempotent by alarm id, also after the alarm was delivered', async () => {
    const outbox = await Outbox.open(dir.path);
    const a = await sampleAlarm(1);
    expect(await outbox.enqueue(a)).to.equal(true);
    expect(await outbox.enqueue(a)).to.equal(false);
    expect(outbox.depth).to.equal(1);
    await outbox.settle(a.fields.alarmId, { status: 'committed', txId: 't' });
    expect(await outbox.enqueue(a)).to.equal(false);
    await outbox.close();
    const reopened = await Outbox.open(dir.path);
    expect(await reopened.enqueue(a)).to.equal(false);
    expect(reopened.outcome(a.fields.alarmId)).to.deep.equal({ status: 'committed', txId: 't' });
    await reopened.close();
  });

  it('remembers which delivery raised its alarms, pending or delivered, across reopening and compaction', async () => {
    const outbox = await Outbox.open(dir.path);
    const [a, b] = [await sampleAlarm(1), await sampleAlarm(2)];
    await outbox.enqueueAll([a], Date.now(), 'delivery-a');
    await outbox.enqueueAll([b], Date.now(), 'delivery-b');
    await outbox.settle(a.fields.alarmId, { status: 'committed', txId: 't' });
    expect([outbox.raisedBy('delivery-a'), outbox.raisedBy('delivery-b'), outbox.raisedBy('delivery-c')]).to.deep.equal([true, true, false]);
    await outbox.close();
    for (let i = 0; i < 2; i++) {
      // each opening compacts the log: the settled alarm keeps its delivery too
      const reopened = await Outbox.open(dir.path);
      expect([reopened.raisedBy('delivery-a'), reopened.raisedBy('delivery-b'), reopened.raisedBy('delivery-c')]).to.deep.equal([true, true, false]);
      await reopened.close();
    }
  });

  it('keeps every acknowledged alarm when the writing process is killed (SIGKILL)', async function () {
    this.timeout(30_000);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../support/outbox-writer.ts', import.meta.url)), dir.path, '100000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged: string[] = [];
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      acknowledged.push(...lines);
    });
    await waitFor(() => acknowledged.length >= 150, 25_000, 'the child to acknowledge 150 alarms');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(acknowledged.length).to.be.lessThan(100_000);

    const outbox = await Outbox.open(dir.path);
    const pending = new Set(outbox.pending().map((e) => e.alarm.fields.alarmId));
    for (const id of acknowledged) expect(pending.has(id), `alarm ${id} lost`).to.equal(true);
    // What was written but not yet acknowledged may or may not be there; nothing else may be.
    expect(pending.size - acknowledged.length).to.be.within(0, 2);
    await outbox.close();
  });

  it('ignores a half-written last record and keeps the rest', async () => {
    const outbox = await Outbox.open(dir.path);
    await outbox.enqueue(await sampleAlarm(1));
    await outbox.enqueue(await sampleAlarm(2));
    await outbox.close();
    appendFileSync(`${dir.path}/outbox.jsonl`, '{"op":"put","alarm":{"fields":{"alarmId":"tor');
    const reopened = await Outbox.open(dir.path);
    expect(reopened.depth).to.equal(2);
    await reopened.enqueue(await sampleAlarm(3));
    await reopened.close();
    // The compacted file has only whole records.
    const lines = readFileSync(`${dir.path}/outbox.jsonl`, 'utf8').trim().split('\n');
    for (const l of lines) JSON.parse(l);
    const third = await Outbox.open(dir.path);
    expect(third.depth).to.equal(3);
    await third.close();
  });

  it('waits while the ledger is down and then delivers each alarm exactly once, in order', async () => {
    const outbox = await Outbox.open(dir.path);
    const ledger = new LedgerDouble();
    ledger.down = true;
    const order: string[] = [];
    const delivery = new OutboxDelivery(outbox, ledger, fast, { settled: (e) => order.push(e.alarm.fields.alarmId) });
    delivery.start();
    const alarms = await Promise.all(Array.from({ length: 20 }, (_, i) => sampleAlarm(i)));
    for (const a of alarms) await outbox.enqueue(a);
    await new Promise((r) => setTimeout(r, 150));
    expect(ledger.commits.size).to.equal(0);
    expect(outbox.depth).to.equal(20);
    expect(ledger.submissions).to.be.greaterThan(1);

    ledger.down = false;
    await waitFor(() => outbox.depth === 0, 5_000, 'the outbox to drain');
    await delivery.stop();
    expect(order).to.deep.equal(alarms.map((a) => a.fields.alarmId));
    expect([...ledger.commits.values()].every((n) => n === 1)).to.equal(true);
    expect(ledger.commits.size).to.equal(20);
    await outbox.close();
  });

  it('a lost commit status is retried and the duplicate refusal settles it', async () => {
    const outbox = await Outbox.open(dir.path);
    const ledger = new LedgerDouble();
    ledger.failNext = 3;
    ledger.loseNextCommitStatus = 1;
    const outcomes: string[] = [];
    const delivery = new OutboxDelivery(outbox, ledger, fast, { settled: (_e, o) => outcomes.push(o.status) });
    delivery.start();
    const a = await sampleAlarm(7);
    await outbox.enqueue(a);
    await waitFor(() => outbox.depth === 0, 5_000, 'the alarm to settle');
    await delivery.stop();
    expect(ledger.commits.get(a.fields.alarmId)).to.equal(1);
    expect(outcomes).to.deep.equal(['duplicate']);
    expect(outbox.outcome(a.fields.alarmId)).to.deep.equal({ status: 'duplicate', code: 'REPLAY' });
    await outbox.close();
  });

  it('survives a restart with the ledger down: pending alarms go out after it, exactly once', async () => {
    const ledger = new LedgerDouble();
    const alarms = await Promise.all(Array.from({ length: 30 }, (_, i) => sampleAlarm(100 + i)));

    // First life: ten alarms get through, then the ledger goes down and the process stops.
    let outbox = await Outbox.open(dir.path);
    let delivery = new OutboxDelivery(outbox, ledger, fast, {
      settled: () => {
        if (ledger.commits.size >= 10) ledger.down = true;
      },
    });
    delivery.start();
    for (const a of alarms) await outbox.enqueue(a);
    await waitFor(() => ledger.down && ledger.submissions > 12, 5_000, 'the ledger to go down');
    await delivery.stop();
    await outbox.close();
    expect(ledger.commits.size).to.equal(10);

    // Second life: the same folder, the ledger is back.
    ledger.down = false;
    outbox = await Outbox.open(dir.path);
    expect(outbox.depth).to.equal(20);
    delivery = new OutboxDelivery(outbox, ledger, fast);
    delivery.start();
    await waitFor(() => outbox.depth === 0, 5_000, 'the outbox to drain');
    await delivery.stop();
    expect(ledger.commits.size).to.equal(30);
    expect([...ledger.commits.values()].every((n) => n === 1)).to.equal(true);
    for (const a of alarms) expect(ledger.commits.has(a.fields.alarmId)).to.equal(true);
    await outbox.close();
  });

  it('with concurrency, areas go out together; within an area one at a time, in the order raised, also across an outage', async () => {
    const outbox = await Outbox.open(dir.path);
    const inFlightByArea = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    let maxPerArea = 0;
    let down = true;
    const order: string[] = [];
    const committed = new Map<string, number>();
    const ledger = {
      async submitAlarm(alarm: SignedAlarm): Promise<LedgerOutcome> {
        const area = alarm.fields.areaId;
        inFlight++;
        inFlightByArea.set(area, (inFlightByArea.get(area) ?? 0) + 1);
        maxInFlight = Math.max(maxInFlight, inFlight);
        maxPerArea = Math.max(maxPerArea, inFlightByArea.get(area)!);
        try {
          await new Promise((r) => setTimeout(r, 5));
          if (down) throw new Error('UNAVAILABLE');
          committed.set(alarm.fields.alarmId, (committed.get(alarm.fields.alarmId) ?? 0) + 1);
          order.push(`${area} ${alarm.fields.alarmId}`);
          return { status: 'committed', txId: alarm.fields.alarmId };
        } finally {
          inFlight--;
          inFlightByArea.set(area, inFlightByArea.get(area)! - 1);
        }
      },
    };
    let retries = 0;
    const delivery = new OutboxDelivery(outbox, ledger, { ...fast, concurrency: 4 }, { retrying: () => retries++ });
    delivery.start();
    const areas = ['a', 'b', 'c', 'd', 'e', 'f'];
    const alarms: SignedAlarm[] = [];
    for (let i = 0; i < 30; i++) {
      const a = await sampleAlarm(i);
      alarms.push(await signAlarm(Wallet.createRandom(), { ...a.fields, areaId: areas[i % areas.length]! }));
    }
    for (const a of alarms) await outbox.enqueue(a);
    await new Promise((r) => setTimeout(r, 60));
    expect(committed.size).to.equal(0);
    // one pause for the alarms that failed together: the backoff did not run away
    expect(retries).to.be.greaterThan(1);
    down = false;
    await waitFor(() => outbox.depth === 0, 5_000, 'the outbox to drain');
    await delivery.stop();
    expect(maxInFlight).to.equal(4);
    expect(maxPerArea).to.equal(1);
    expect([...committed.values()].every((n) => n === 1)).to.equal(true);
    expect(committed.size).to.equal(30);
    for (const area of areas) {
      const raised = alarms.filter((a) => a.fields.areaId === area).map((a) => `${area} ${a.fields.alarmId}`);
      expect(order.filter((o) => o.startsWith(`${area} `))).to.deep.equal(raised);
    }
    await outbox.close();
  });

  it('a final refusal is recorded with its reason and does not block the alarms behind it', async () => {
    const outbox = await Outbox.open(dir.path);
    const ledger = new LedgerDouble();
    const [bad, good] = [await sampleAlarm(1), await sampleAlarm(2)];
    ledger.rejectIds.add(bad.fields.alarmId);
    const delivery = new OutboxDelivery(outbox, ledger, fast);
    delivery.start();
    await outbox.enqueue(bad);
    await outbox.enqueue(good);
    await waitFor(() => outbox.depth === 0, 5_000, 'both to settle');
    await delivery.stop();
    expect(outbox.outcome(bad.fields.alarmId)).to.deep.equal({ status: 'rejected', reason: 'SIGNATURE_INVALID: test' });
    expect(ledger.commits.has(good.fields.alarmId)).to.equal(true);
    await outbox.close();
  });
});
