import { readFileSync, writeFileSync } from 'node:fs';
import { Wallet } from 'ethers';
import { z } from 'zod';
import { isIdentifier } from '../mqtt/topics.js';

/**
 * A local key file: one secp256k1 key per device or edge gateway. On a real gateway the keys sit
 * in a secure element; this file is for the simulator and for tests. Its addresses are what the
 * device registry on the ledger holds.
 */
const keyFileSchema = z.object({
  version: z.literal(1),
  devices: z.record(
    z.string().refine(isIdentifier),
    z.object({ address: z.string().regex(/^0x[0-9a-fA-F]{40}$/), privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/) }),
  ),
});
export type KeyFile = z.infer<typeof keyFileSchema>;

export class DeviceKeyring {
  private readonly wallets = new Map<string, Wallet>();

  constructor(file: KeyFile) {
    for (const [deviceId, entry] of Object.entries(file.devices)) {
      const wallet = new Wallet(entry.privateKey);
      if (wallet.address.toLowerCase() !== entry.address.toLowerCase()) {
        throw new Error(`key file: address of ${deviceId} does not belong to its private key`);
      }
      this.wallets.set(deviceId, wallet);
    }
  }

  static load(path: string): DeviceKeyring {
    return new DeviceKeyring(keyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))));
  }

  wallet(deviceId: string): Wallet | undefined {
    return this.wallets.get(deviceId);
  }

  deviceIds(): string[] {
    return [...this.wallets.keys()];
  }

  /** deviceId → lower-case address. */
  addresses(): Map<string, string> {
    return new Map([...this.wallets].map(([id, w]) => [id, w.address.toLowerCase()]));
  }
}

export function generateKeyFile(deviceIds: readonly string[]): KeyFile {
  const devices: KeyFile['devices'] = {};
  for (const id of deviceIds) {
    if (!isIdentifier(id)) throw new Error(`not a device identifier: ${id}`);
    const w = Wallet.createRandom();
    devices[id] = { address: w.address, privateKey: w.privateKey };
  }
  return { version: 1, devices };
}

export function writeKeyFile(path: string, file: KeyFile): void {
  // Private keys: readable by the owner only.
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
}
