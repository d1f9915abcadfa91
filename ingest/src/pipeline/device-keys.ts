import { readFileSync, writeFileSync } from 'node:fs';
import { Wallet } from 'ethers';
import { z } from 'zod';
import { isIdentifier } from '../mqtt/topics.js';

/**
 * The devices' own key file: one secp256k1 key per device. It belongs to the devices (on real
 * hardware each key sits in its device's secure element); the simulator, the test devices and
 * `tools/sign-message.ts` sign with it. Ingest never loads it: it reads the public registry below.
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

  constructor(readonly keyFile: KeyFile) {
    const file = keyFile;
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

export function writeKeyFile(path: string, file: KeyFile | ServiceKeyFile): void {
  // Private keys: readable by the owner only.
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
}

/**
 * What ingest knows of the devices: their public addresses (the same the ledger's device records
 * hold), never their private keys. A file that holds a private key is refused, so a key cannot
 * reach the ingest machine through this setting by mistake.
 */
const registrySchema = z.strictObject({
  version: z.literal(1),
  devices: z.record(
    z.string().refine(isIdentifier),
    z.strictObject({
      address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
      // false: registered on the ledger as not signing (a site's opt-out); true when absent.
      signsReadings: z.boolean().optional(),
    }),
  ),
});
export type DeviceRegistryFile = z.infer<typeof registrySchema>;

export class DeviceRegistry {
  private readonly byId: Map<string, string>;

  constructor(file: DeviceRegistryFile) {
    this.byId = new Map(Object.entries(file.devices).map(([id, d]) => [id, d.address.toLowerCase()]));
  }

  static load(path: string): DeviceRegistry {
    const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (JSON.stringify(raw).includes('"privateKey"')) {
      throw new Error(`${path} holds device private keys; ingest takes only the devices' public addresses (\`simulator registry\` writes them)`);
    }
    return new DeviceRegistry(registrySchema.parse(raw));
  }

  /** deviceId → lower-case address. */
  addresses(): Map<string, string> {
    return new Map(this.byId);
  }
}

export function publicRegistry(file: KeyFile): DeviceRegistryFile {
  return { version: 1, devices: Object.fromEntries(Object.entries(file.devices).map(([id, d]) => [id, { address: d.address }])) };
}

/**
 * Ingest's own key: it signs gradings (EIP-712 `Grading`), and the ledger holds its address as a
 * device record of kind `ingest_service` under `serviceId`.
 */
const serviceKeySchema = z.strictObject({
  version: z.literal(1),
  serviceId: z.string().refine(isIdentifier),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
});
export type ServiceKeyFile = z.infer<typeof serviceKeySchema>;

export interface ServiceKey {
  serviceId: string;
  wallet: Wallet;
}

export function serviceKey(file: ServiceKeyFile): ServiceKey {
  const wallet = new Wallet(file.privateKey);
  if (wallet.address.toLowerCase() !== file.address.toLowerCase())
    throw new Error(`service key file: the address does not belong to the private key of ${file.serviceId}`);
  return { serviceId: file.serviceId, wallet };
}

export function loadServiceKey(path: string): ServiceKey {
  return serviceKey(serviceKeySchema.parse(JSON.parse(readFileSync(path, 'utf8'))));
}

export function generateServiceKey(serviceId: string): ServiceKeyFile {
  if (!isIdentifier(serviceId)) throw new Error(`not a service identifier: ${serviceId}`);
  const w = Wallet.createRandom();
  return { version: 1, serviceId, address: w.address, privateKey: w.privateKey };
}
