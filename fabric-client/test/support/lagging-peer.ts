/**
 * The regulator's peer left behind by a known block, deterministically, on the real network (the
 * gateway's and ingest's tests use it too): a transaction endorsed by both peers is ordered while
 * the regulator's peer is down, so only the enterprise's peer commits it; the orderers are then
 * paused (SIGSTOP) and the regulator's peer started again. It serves endorsements on its old
 * ledger, without that block, until the orderer is resumed and delivers it.
 *
 * It imports the package by its name, as the services do: the classes of src/ loaded a second time
 * would not be the classes the services' errors are instances of.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { classifyFabricError, PeersDisagree } from '@compliance-ledger/fabric-client';
import { connectionProfilePath } from '@compliance-ledger/schema';
import type { Transaction } from '@hyperledger/fabric-gateway';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const networkScript = path.resolve(import.meta.dirname, '..', '..', '..', 'scripts', 'network.sh');

/** The network's state folder: the connection profile sits at its top. */
function runDir(): string {
  return path.dirname(connectionProfilePath(process.env));
}

function pidOf(name: string): number {
  return Number(fs.readFileSync(path.join(runDir(), 'pids', `${name}.pid`), 'utf8').trim());
}

/** No such process any more: exited and reaped. */
/** The running orderer nodes (orderer0.pid, orderer1.pid, …; a killed one has no live pid). */
function ordererPids(): number[] {
  const names = fs.readdirSync(path.join(runDir(), 'pids')).filter((f) => /^orderer\d*\.pid$/.test(f));
  const pids = names.map((f) => pidOf(f.slice(0, -'.pid'.length))).filter((pid) => !gone(pid));
  if (pids.length === 0) throw new Error(`no running orderer under ${path.join(runDir(), 'pids')}`);
  return pids;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Kills an org's peer process (SIGKILL, as a crash would) and waits until it is gone. */
export async function killPeer(org: 'enterprise' | 'regulator'): Promise<number> {
  const pid = pidOf(`peer-${org}`);
  process.kill(pid, 'SIGKILL');
  const started = Date.now();
  while (!gone(pid)) {
    if (Date.now() - started > 30_000) throw new Error(`peer process ${pid} did not exit`);
    await sleep(20);
  }
  return pid;
}

/**
 * Environment for the network scripts, pointing at this network: without the ports exported, the
 * offset is the orderer's port minus its default, so the peer comes back on the ports it had.
 */
export function networkEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LEDGER_RUN_DIR: runDir() };
  if (!env.LEDGER_PORT_OFFSET && !env.ORDERER_PORT) {
    const profile = JSON.parse(fs.readFileSync(connectionProfilePath(process.env), 'utf8')) as { orderer: { endpoint: string } };
    env.LEDGER_PORT_OFFSET = String(Number(profile.orderer.endpoint.split(':').pop()) - 7050);
  }
  return env;
}

export interface LaggingRegulator {
  /** The block the enterprise's peer committed and the regulator's peer does not have. */
  blockNumber: bigint;
  transactionId: string;
  /** Resumes the orderer, which then delivers the block to the regulator's peer. Safe to call twice. */
  catchUp(): void;
}

/**
 * Leaves the regulator's peer without the block of `endorsed` (a transaction both peers endorsed,
 * not yet submitted). Call catchUp() in an `after` hook too: the orderer stays paused until then.
 */
export async function regulatorBehindBy(endorsed: Transaction): Promise<LaggingRegulator> {
  await killPeer('regulator');
  const status = await (await endorsed.submit()).getStatus();
  if (!status.successful) throw new Error(`the set-up transaction ${status.transactionId} was not valid (code ${status.code})`);
  // Every orderer is paused: with several, any one of them would otherwise deliver the block.
  const orderers = ordererPids();
  for (const pid of orderers) process.kill(pid, 'SIGSTOP');
  let paused = true;
  const catchUp = () => {
    if (!paused) return;
    paused = false;
    for (const pid of orderers) process.kill(pid, 'SIGCONT');
  };
  try {
    await run('bash', [networkScript, 'peer-up', 'regulator'], { env: networkEnv(), maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    catchUp();
    throw e;
  }
  return { blockNumber: status.blockNumber, transactionId: status.transactionId, catchUp };
}

/**
 * Endorses `probe` until the regulator's peer refuses it alone (PeersDisagree): it is up, the
 * enterprise's peer sees it again (gossip takes a few seconds after a restart), and it is behind.
 * Returns that refusal.
 */
export async function untilPeersDisagree(probe: () => Promise<unknown>, ownMspId: string, timeoutMs = 90_000): Promise<PeersDisagree> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await probe();
      throw new Error('the probe was endorsed by both peers: the regulator peer is not behind');
    } catch (e) {
      const f = classifyFabricError(e, { ownMspId });
      if (f instanceof PeersDisagree) return f;
      if (!f.transient) throw e;
      last = f;
    }
    await sleep(500);
  }
  throw new Error(`the regulator's peer never refused alone within ${timeoutMs} ms; last: ${String(last)}`);
}
