/**
 * Issue 14, point 2 on the real network with real HTTP receivers: deliveries survive a failing
 * receiver and a kill -9 of the reporter, arrive once each by delivery id and in permit order, and
 * the documented check catches a forged or replayed push.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionProfile } from '@compliance-ledger/schema';
import { connectionProfilePath } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { type RunningReporter, startReporter } from '../../src/main.js';
import { signerOf, verifyDelivery } from '../../src/push/signing.js';
import { enroll, issuedPermitEndingSoon, requireNetwork, uniqueId } from '../support/network.js';
import { startReceiver, until } from '../support/receiver.js';

const TOKEN = 'test-token-0123456789';
const LIFECYCLE = ['PermitApplied', 'PermitRiskAssessed', 'PermitSignedOff', 'PermitIssued'];
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function pushEnv(profile: ConnectionProfile, dir: string, port: number): Record<string, string> {
  return {
    REPORTER_FABRIC_CONNECTION_PROFILE: connectionProfilePath(process.env),
    REPORTER_FABRIC_IDENTITY_DIR: enroll(profile, 'enterprise', 'rep-sweeper', 'sweeper'),
    REPORTER_SWEEP_PERIOD_MS: '3600000',
    REPORTER_HTTP_PORT: String(port),
    REPORTER_PUSH_DIR: dir,
    REPORTER_PUSH_API_TOKEN: TOKEN,
    REPORTER_PUSH_TIMEOUT_MS: '1500',
    REPORTER_PUSH_RETRY_BASE_MS: '200',
    REPORTER_PUSH_RETRY_MAX_MS: '1000',
    LOG_LEVEL: 'silent',
  };
}

async function api(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('reporter: push delivery (real network, real receivers)', () => {
  let profile: ConnectionProfile;
  const running: RunningReporter[] = [];
  const children: ChildProcess[] = [];
  before(function () {
    profile = requireNetwork(this);
  });
  after(async () => {
    for (const r of running) await r.stop();
    for (const c of children) c.kill('SIGKILL');
  });

  it(
    'a receiver that answers 500, then not at all, then 200 gets every event once by delivery ' +
      'id, in permit order; forged and replayed pushes fail the check',
    async () => {
      const receiver = await startReceiver({ script: ['error500', 'no_answer'] });
      const reporter = await startReporter(loadConfig(pushEnv(profile, mkdtempSync(join(tmpdir(), 'push-')), 0)));
      running.push(reporter);
      try {
        const siteId = uniqueId('site');
        const bad = await api(reporter.port, 'POST', '/v1/subscriptions', { url: 'ftp://x', eventTypes: ['NoSuchEvent'] });
        expect(bad.status).to.equal(400);
        expect(bad.json.code).to.equal('VALIDATION_FAILED');
        expect((await fetch(`http://127.0.0.1:${reporter.port}/v1/subscriptions`)).status).to.equal(401);
        const sub = await api(reporter.port, 'POST', '/v1/subscriptions', { url: receiver.url, eventTypes: LIFECYCLE, siteIds: [siteId] });
        expect(sub.status).to.equal(201);
        const permitNo = await issuedPermitEndingSoon(profile, 3_600_000, siteId);
        await until('four accepted deliveries', () => receiver.accepted.length >= 4);
        await new Promise((r) => setTimeout(r, 1500));

        const bodies = receiver.accepted.map((a) => JSON.parse(a.body));
        expect(bodies.map((b) => b.eventType)).to.deep.equal(LIFECYCLE);
        expect(bodies.every((b) => b.permit.permitNo === permitNo && b.siteId === siteId && b.subscriptionId === sub.json.id)).to.equal(true);
        expect(new Set(receiver.accepted.map((a) => a.id)).size).to.equal(4);
        expect(bodies.map((b) => b.deliveryId)).to.deep.equal(receiver.accepted.map((a) => a.id));
        const blocks = bodies.map((b) => BigInt(b.blockNumber));
        expect(blocks.every((b, i) => i === 0 || b > blocks[i - 1]!)).to.equal(true);
        expect(bodies.every((b) => /^[0-9a-f]{64}$/.test(b.txId))).to.equal(true);
        // The failed attempts were the first event, under the same delivery id as its acceptance.
        expect(receiver.received.slice(0, 2).map((r) => r.answer)).to.deep.equal(['error500', 'no_answer']);
        expect(receiver.received.slice(0, 3).map((r) => r.headers['x-ledger-delivery-id'])).to.deep.equal(Array(3).fill(receiver.accepted[0]!.id));
        expect(receiver.received.filter((r) => r.answer === 'duplicate')).to.have.length(0);

        // The documented check, with the published key.
        const key = (await (await fetch(`http://127.0.0.1:${reporter.port}/v1/public-key`)).json()) as { pem: string; keyId: string };
        const seen = new Set<string>();
        for (const r of receiver.received.filter((x) => x.answer === 'accepted')) {
          expect(r.headers['x-ledger-key-id']).to.equal(key.keyId);
          expect(verifyDelivery(key.pem, r.headers, r.body, { seen: (id) => seen.has(id) })).to.deep.equal({
            ok: true,
            deliveryId: r.headers['x-ledger-delivery-id'],
          });
          seen.add(String(r.headers['x-ledger-delivery-id']));
        }
        const captured = receiver.received.find((x) => x.answer === 'accepted')!;
        expect(verifyDelivery(key.pem, captured.headers, captured.body, { seen: (id) => seen.has(id) })).to.deep.equal({ ok: false, reason: 'replayed' });
        const later = new Date(Number(captured.headers['x-ledger-timestamp']) * 1000 + 3_600_000);
        expect(verifyDelivery(key.pem, captured.headers, captured.body, { now: later })).to.deep.equal({ ok: false, reason: 'stale_timestamp' });
        const tampered = captured.body.replace('PermitApplied', 'PermitRevoked');
        expect(verifyDelivery(key.pem, captured.headers, tampered)).to.deep.equal({ ok: false, reason: 'bad_signature' });
        const restamped = { ...captured.headers, 'x-ledger-timestamp': String(Math.floor(Date.now() / 1000)) };
        expect(verifyDelivery(key.pem, restamped, captured.body)).to.deep.equal({ ok: false, reason: 'bad_signature' });
        const forger = signerOf(generateKeyPairSync('ed25519').privateKey);
        const forged = forger.headers(String(captured.headers['x-ledger-delivery-id']), captured.body);
        expect(verifyDelivery(key.pem, forged, captured.body)).to.deep.equal({ ok: false, reason: 'bad_signature' });

        // A replay from the first event's block sends the same events again under new delivery ids.
        const replay = await api(reporter.port, 'POST', '/v1/replays', { fromBlock: Number(blocks[0]) });
        expect(replay.status).to.equal(202);
        await until('four replayed deliveries', () => receiver.accepted.length >= 8);
        const replayed = receiver.accepted.slice(4).map((a) => JSON.parse(a.body));
        expect(replayed.map((b) => b.txId)).to.deep.equal(bodies.map((b) => b.txId));
        expect(replayed.some((b) => bodies.some((o) => o.deliveryId === b.deliveryId))).to.equal(false);
        expect((await api(reporter.port, 'GET', '/v1/dead-letters')).json.deadLetters).to.deep.equal([]);
      } finally {
        await receiver.close();
      }
    },
  );

  it('kill -9 of the reporter mid-delivery loses nothing; re-sent deliveries keep their ids', async () => {
    const receiver = await startReceiver({ acceptDelayMs: 700 });
    const dir = mkdtempSync(join(tmpdir(), 'push-kill-'));
    const port = await freePort();
    const env = { ...process.env, ...pushEnv(profile, dir, port) };
    const spawnReporter = () => {
      const c = spawn(process.execPath, ['--import', 'tsx', join(PACKAGE, 'src', 'main.ts')], { cwd: PACKAGE, env, stdio: 'ignore' });
      children.push(c);
      return c;
    };
    try {
      let child = spawnReporter();
      let sub: { status: number; json: any } | undefined;
      await (async () => {
        for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 300))) {
          sub = await api(port, 'GET', '/v1/public-key').catch(() => undefined);
          if (sub?.status === 200) return;
        }
      })();
      const siteId = uniqueId('site');
      sub = await api(port, 'POST', '/v1/subscriptions', { url: receiver.url, eventTypes: LIFECYCLE, siteIds: [siteId], profile: 'provincial' });
      expect(sub.status).to.equal(201);
      const permitNo = await issuedPermitEndingSoon(profile, 3_600_000, siteId);
      // Kill while a delivery is in the receiver's hands (received, not yet answered).
      await until('a first request', () => receiver.accepted.length >= 1);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const acceptedBeforeKill = receiver.accepted.length;
      expect(acceptedBeforeKill).to.be.lessThan(4);
      child = spawnReporter();
      await until('all four accepted after the restart', () => receiver.accepted.length >= 4);
      await new Promise((r) => setTimeout(r, 2000));
      child.kill('SIGKILL');

      expect(receiver.accepted).to.have.length(4);
      const bodies = receiver.accepted.map((a) => JSON.parse(a.body));
      expect(bodies.map((b) => b.eventTypeCode)).to.deep.equal(['ZY01', 'ZY02', 'ZY04', 'ZY05']);
      expect(bodies.every((b) => b.permitNo === permitNo && b.siteCode === siteId && b.workTypeCode === '04' && b.workLevel === 'I')).to.equal(true);
      expect(bodies.map((b) => b.dataId)).to.deep.equal(receiver.accepted.map((a) => a.id));
      // Every request, before or after the kill, carried one of the four ids: ids are stable.
      const ids = new Set(receiver.accepted.map((a) => a.id));
      expect(receiver.received.every((r) => ids.has(String(r.headers['x-ledger-delivery-id'])))).to.equal(true);
    } finally {
      await receiver.close();
    }
  });
});
