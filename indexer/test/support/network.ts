/**
 * Test access to the real Fabric network (no mock): the connection profile written by
 * `scripts/network.sh up`, a guard that skips integration suites with a reason, and helpers that
 * create blocks by submitting heartbeat transactions (valid ones and invalid one-org ones), and a
 * peer killed and restarted through `scripts/network.sh`.
 */

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectToOrg } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, connectionProfilePath as profilePathFromEnv } from '@compliance-ledger/schema';
import type { Contract, Gateway } from '@hyperledger/fabric-gateway';
import { loadProfile } from '../../src/fabric-source.js';

export function connectionProfilePath(): string {
  return profilePathFromEnv(process.env);
}

/** Call first in an integration suite's `before`: skips with the reason when no network is available. */
export function requireNetwork(ctx: Mocha.Context): ConnectionProfile {
  const unavailable = process.env.LEDGER_NETWORK_UNAVAILABLE;
  if (unavailable) {
    if (ctx.test) ctx.test.title += ` (skipped: ${unavailable})`;
    ctx.skip();
  }
  const file = connectionProfilePath();
  if (!fs.existsSync(file)) {
    throw new Error(
      `no Fabric network: ${file} is missing. Run 'bash scripts/network.sh up && bash scripts/deploy-chaincode.sh', ` +
        `or set LEDGER_NETWORK_UNAVAILABLE=<reason> to skip.`,
    );
  }
  return loadProfile(file);
}

export interface Submitter {
  heartbeat: Contract;
  /** The connection itself, for a transaction built by hand (`newTransaction`). */
  gateway: Gateway;
  /** The submitting org's MSP: the only endorser of a one-org (invalidated) heartbeat. */
  mspId: string;
  close(): void;
}

/** The enterprise's client, which submits heartbeats endorsed by both orgs. */
export function enterpriseSubmitter(profile: ConnectionProfile): Submitter {
  return orgSubmitter(profile, 'enterprise');
}

/** An org's client connected to its own peer's gateway, which collects the other org's endorsement. */
export function orgSubmitter(profile: ConnectionProfile, orgName: 'enterprise' | 'regulator'): Submitter {
  const { gateway, mspId, close } = connectToOrg(profile, orgName);
  return { heartbeat: gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat'), gateway, mspId, close };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
}

export interface SubmitResult {
  txId: string;
  blockNumber: number;
  valid: boolean;
  /** Date.now() when the commit status came back: the transaction is in a committed block. */
  committedAt: number;
}

/** Submits one heartbeat; with `oneOrg` it is endorsed by the submitter's org only and is invalidated. */
export async function submitHeartbeat(s: Submitter, note: string, oneOrg = false, attempts = 5): Promise<SubmitResult> {
  // The network is shared: a chaincode redeploy by another session briefly fails endorsements.
  for (let attempt = 1; ; attempt++) {
    try {
      return await submitOnce(s, note, oneOrg);
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function submitOnce(s: Submitter, note: string, oneOrg: boolean): Promise<SubmitResult> {
  const proposal = s.heartbeat.newProposal('Record', {
    arguments: [uniqueId('hb-idx'), note],
    ...(oneOrg ? { endorsingOrganizations: [s.mspId] } : {}),
  });
  const submitted = await (await proposal.endorse()).submit();
  const status = await submitted.getStatus();
  return { txId: submitted.getTransactionId(), blockNumber: Number(status.blockNumber), valid: status.successful, committedAt: Date.now() };
}

/** Submits `count` heartbeats with `concurrency` in flight; every `invalidEvery`-th is one-org (invalid). */
export async function submitMany(s: Submitter, count: number, concurrency: number, invalidEvery = 0): Promise<SubmitResult[]> {
  const results: SubmitResult[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      const oneOrg = invalidEvery > 0 && i % invalidEvery === invalidEvery - 1;
      results.push(await submitHeartbeat(s, `load ${i}`, oneOrg));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The network's state folder (pid files, logs): the connection profile sits at its top. */
export function networkRunDir(): string {
  return path.dirname(connectionProfilePath());
}

function peerPid(org: 'enterprise' | 'regulator'): number {
  return Number(fs.readFileSync(path.join(networkRunDir(), 'pids', `peer-${org}.pid`), 'utf8').trim());
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function peerRunning(org: 'enterprise' | 'regulator'): boolean {
  try {
    return processAlive(peerPid(org));
  } catch {
    return false;
  }
}

/** SIGKILLs an org's peer process, as a crash would, and resolves once it is gone. */
export async function killPeer(org: 'enterprise' | 'regulator'): Promise<number> {
  const pid = peerPid(org);
  process.kill(pid, 'SIGKILL');
  for (const deadline = Date.now() + 30_000; processAlive(pid); ) {
    if (Date.now() > deadline) throw new Error(`peer process ${pid} still alive 30 s after SIGKILL`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pid;
}

/**
 * `scripts/network.sh up`, which starts whatever node is down and waits for its health and for
 * discovery. The ports come from the profile when LEDGER_PORT_OFFSET is not in the environment, so
 * a suite run without it restarts the peer where the profile says it listens.
 */
export function networkUp(): void {
  const env: NodeJS.ProcessEnv = { ...process.env, LEDGER_RUN_DIR: networkRunDir() };
  if (env.LEDGER_PORT_OFFSET === undefined && env.ORDERER_PORT === undefined) {
    const ordererPort = Number(loadProfile(connectionProfilePath()).orderer.endpoint.split(':').pop());
    env.LEDGER_PORT_OFFSET = String(ordererPort - 7050);
  }
  // A just-restarted peer can still be reopening its ledger when `up` asks for its channels; a
  // second `up` then finds it joined.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('bash', [path.join(repoRoot, 'scripts', 'network.sh'), 'up'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}
