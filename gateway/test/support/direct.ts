/** A fabric-gateway connection as a user from the gateway's wallet (for what the API does not do: alarms come from ingest). */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, connectionProfileSchema } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { type Contract, connect, hash, signers } from '@hyperledger/fabric-gateway';
import type { Signer } from 'ethers';
import { profilePath } from './env.js';

export function connectAsWalletUser(
  walletDir: string,
  org: 'enterprise' | 'regulator',
  sub: string,
  chaincode?: string,
): { contract: Contract; close(): void } {
  const profile = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(profilePath(), 'utf8')));
  const msp = path.join(walletDir, org, sub, 'msp');
  const keyFile = fs.readdirSync(path.join(msp, 'keystore')).find((f) => f.endsWith('_sk'))!;
  const o = profile.organizations[org];
  const client = new grpc.Client(o.peer.endpoint, grpc.credentials.createSsl(fs.readFileSync(o.peer.tlsCaFile)), {
    'grpc.ssl_target_name_override': o.peer.hostAlias,
  });
  const gateway = connect({
    client,
    identity: { mspId: o.mspId, credentials: fs.readFileSync(path.join(msp, 'signcerts', 'cert.pem')) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(path.join(msp, 'keystore', keyFile)))),
    hash: hash.sha256,
  });
  return {
    contract: gateway.getNetwork(profile.channel).getContract(chaincode ?? profile.chaincode),
    close() {
      gateway.close();
      client.close();
    },
  };
}

/**
 * An alarm (by default grade 1, a gas leak) signed by a registered device's own key and recorded as an enterprise device
 * gateway user of the wallet (what ingest does for real, without the model and the broker).
 * Returns when the transaction has committed.
 */
export async function recordSignedAlarm(
  walletDir: string,
  gatewaySub: string,
  device: Pick<Signer, 'signTypedData'>,
  where: { alarmId: string; deviceId: string; siteId: string; areaId: string },
  detection: { grade: 1 | 2 | 3 | 4; kind: string; scoreBp: number; modelVersion: string } = {
    grade: 1,
    kind: 'gas_leak',
    scoreBp: 9700,
    modelVersion: 'risk-1',
  },
): Promise<void> {
  const alarm = {
    ...where,
    ...detection,
    modelSha256: `0x${crypto.randomBytes(32).toString('hex')}`,
    inputSha256: `0x${crypto.randomBytes(32).toString('hex')}`,
    clipCid: '',
    observedAt: Date.now() - 2000,
  };
  const types = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ name: f.name, type: f.type })) };
  const signature = await device.signTypedData({ ...ALARM_EIP712_DOMAIN }, types, alarm);
  const conn = connectAsWalletUser(walletDir, 'enterprise', gatewaySub);
  try {
    await conn.contract.submit('alarm:Record', { arguments: [JSON.stringify({ alarm, signature })] });
  } finally {
    conn.close();
  }
}
