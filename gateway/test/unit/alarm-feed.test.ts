/** The live alarm stream's reader of the mirror: woken by the indexer's notification, not only by its poll. */
import { expect } from 'chai';
import { AlarmFeed, type FeedAlarm } from '../../src/alarm-feed.js';
import { createLogger } from '../../src/logger.js';
import type { MirrorWakeups } from '../../src/mirror-listener.js';
import type { RegulatorRepository } from '../../src/regulator-repository.js';

/** A mirror whose head moves when told, and whose alarm reads can be held open. */
class StubMirror {
  head = 10;
  reads: [number, number][] = [];
  hold: Promise<void> | undefined;
  async mirroredBlock(): Promise<number> {
    return this.head;
  }
  async alarmsChanged(after: number, upTo: number): Promise<FeedAlarm[]> {
    this.reads.push([after, upTo]);
    await this.hold;
    return [{ alarmId: `a-${upTo}`, blockNumber: upTo, recordedByMsp: 'EnterpriseMSP' }];
  }
}

class StubWakeups implements MirrorWakeups {
  wake: ((block: number) => void) | undefined;
  stops = 0;
  start(wake: (block: number) => void): void {
    this.wake = wake;
  }
  stop(): void {
    this.wake = undefined;
    this.stops += 1;
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('gateway: the live alarm feed', () => {
  const HOUR = 3_600_000;

  it('reads the mirror when woken, though its poll is an hour away, and listens only while a screen is open', async () => {
    const mirror = new StubMirror();
    const wakeups = new StubWakeups();
    const feed = new AlarmFeed(mirror as unknown as RegulatorRepository, HOUR, createLogger('silent'), wakeups);
    const got: FeedAlarm[][] = [];
    const unsubscribe = feed.subscribe(
      undefined,
      10,
      (a) => got.push(a),
      () => undefined,
    );
    expect(wakeups.wake, 'listening once a screen is open').to.be.a('function');
    mirror.head = 12;
    wakeups.wake!(12);
    for (let i = 0; i < 5; i++) await settle();
    expect(mirror.reads).to.deep.equal([[10, 12]]);
    expect(got.map((a) => a.map((x) => x.alarmId))).to.deep.equal([['a-12']]);
    unsubscribe();
    expect(wakeups.stops).to.equal(1);
    expect(wakeups.wake).to.equal(undefined);
  });

  it('reads again right after a read that a wake-up arrived during, so the newer batch does not wait for the poll', async () => {
    const mirror = new StubMirror();
    const wakeups = new StubWakeups();
    const feed = new AlarmFeed(mirror as unknown as RegulatorRepository, HOUR, createLogger('silent'), wakeups);
    const got: string[] = [];
    const unsubscribe = feed.subscribe(
      undefined,
      10,
      (a) => got.push(...a.map((x) => String(x.alarmId))),
      () => undefined,
    );
    let release!: () => void;
    mirror.hold = new Promise((r) => (release = r));
    mirror.head = 11;
    wakeups.wake!(11);
    for (let i = 0; i < 5; i++) await settle();
    // The indexer commits the next batch while the first read is still running.
    mirror.head = 13;
    wakeups.wake!(13);
    mirror.hold = undefined;
    release();
    for (let i = 0; i < 10; i++) await settle();
    expect(mirror.reads).to.deep.equal([
      [10, 11],
      [11, 13],
    ]);
    expect(got).to.deep.equal(['a-11', 'a-13']);
    unsubscribe();
  });
});
