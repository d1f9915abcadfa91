import * as fs from 'node:fs';
import { connectionProfilePath } from '@compliance-ledger/schema';
import { loadConnectionProfile } from '../../src/connection-profile.js';
import { classifyFabricError, LedgerUnavailable } from '../../src/errors.js';
import { connectToOrg, type FabricConnection } from '../../src/gateway.js';

/**
 * The enterprise's connection for a network test: skipped (with the reason in its title) when the
 * bootstrap said the network cannot run here, an error when it should but is not up.
 */
export function connectOrSkip(ctx: Mocha.Context): FabricConnection {
  if (process.env.LEDGER_NETWORK_UNAVAILABLE) {
    ctx.test!.title += ` (skipped: ${process.env.LEDGER_NETWORK_UNAVAILABLE})`;
    ctx.skip();
  }
  if (!fs.existsSync(connectionProfilePath(process.env))) throw new Error("no Fabric network: run 'npm test' or 'bash scripts/network.sh up'");
  return connectToOrg(loadConnectionProfile(), 'enterprise');
}

/**
 * Runs `attempt` until it stops failing with LedgerUnavailable: right after the network came up, or
 * after a test restarted a peer, the gateway peer's discovery may leave a peer out until gossip sees
 * it again ("no combination of peers can be derived"), and that gap can reopen between two calls.
 * Any other failure, or the deadline, ends the wait with the error.
 */
export async function whenEndorsable<T>(attempt: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!(classifyFabricError(e) instanceof LedgerUnavailable) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Waits until the gateway peer can plan an endorsement by both orgs: a heartbeat proposal is endorsed, never submitted. */
export async function untilEndorsable(conn: FabricConnection, timeoutMs = 120_000): Promise<void> {
  const profile = loadConnectionProfile();
  const heartbeat = conn.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
  await whenEndorsable(
    () => heartbeat.newProposal('Record', { arguments: [`endorsable-${Date.now().toString(36)}`, 'probe, not submitted'] }).endorse(),
    timeoutMs,
  );
}
