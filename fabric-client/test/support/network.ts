import * as fs from 'node:fs';
import { connectionProfilePath } from '@compliance-ledger/schema';
import { loadConnectionProfile } from '../../src/connection-profile.js';
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
