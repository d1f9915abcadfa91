/** A fabric-gateway connection as a user from the gateway's wallet (for what the API does not do: alarms come from ingest). */
import * as path from 'node:path';
import { connectToOrg, loadConnectionProfile } from '@compliance-ledger/fabric-client';
import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, type SignedAlarmFields } from '@compliance-ledger/schema';
import type { Contract } from '@hyperledger/fabric-gateway';
import type { BaseWallet } from 'ethers';
import { profilePath } from './env.js';

export function connectAsWalletUser(
  walletDir: string,
  org: 'enterprise' | 'regulator',
  sub: string,
  chaincode?: string,
): { contract: Contract; close(): void } {
  const profile = loadConnectionProfile(profilePath());
  const conn = connectToOrg(profile, org, { enrolledDir: path.join(walletDir, org, sub) });
  return { contract: conn.gateway.getNetwork(profile.channel).getContract(chaincode ?? profile.chaincode), close: () => conn.close() };
}

/**
 * Records an alarm signed by `device` on the ledger as the device gateway's wallet identity
 * `gatewaySub`: what ingest does, for tests that need an alarm without running ingest.
 */
export async function recordDeviceAlarm(walletDir: string, gatewaySub: string, device: BaseWallet, alarm: SignedAlarmFields): Promise<void> {
  const types = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })) };
  const signature = await device.signTypedData({ ...ALARM_EIP712_DOMAIN }, types, alarm);
  const conn = connectAsWalletUser(walletDir, 'enterprise', gatewaySub);
  try {
    await conn.contract.submit('alarm:Record', { arguments: [JSON.stringify({ alarm, signature })] });
  } finally {
    conn.close();
  }
}
