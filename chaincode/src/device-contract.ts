import type { DeviceRecord } from '@compliance-ledger/schema';
import { getAddress } from 'ethers';
import { Context, Info } from 'fabric-contract-api';
import { txTimeIso } from './clock';
import { AlreadyExistsError, ForbiddenError, InvalidStateError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { assertMayAccess, bindToOwner } from './ownership';
import { exists, KEYS, key, mustGetJson } from './store';
import { Evaluate, putAndEmit, run, Submit } from './tx';

export async function loadDevice(ctx: Context, deviceId: string): Promise<DeviceRecord> {
  return mustGetJson<DeviceRecord>(ctx, key(ctx, KEYS.device, [deviceId]), `device ${deviceId}`);
}

/**
 * Cameras, sensors and gates with the ethers address of the key that signs their readings, and
 * ingest services (kind `ingest_service`) with the key that signs their gradings.
 */
@Info({ title: 'Devices', description: 'Edge device registry with signing addresses' })
export class DeviceContract extends LedgerContract {
  constructor() {
    super('device');
  }

  @Submit()
  async Register(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'device:Register', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.device, [d.deviceId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`device ${d.deviceId} is already registered; disable it and register a new id to rotate keys`);
      const device: DeviceRecord = {
        docType: 'device',
        deviceId: d.deviceId,
        ownerMsp: actor.mspId,
        siteId: d.siteId,
        areaId: d.areaId,
        address: getAddress(d.address.toLowerCase()),
        kind: d.kind,
        signsReadings: d.signsReadings,
        status: 'active',
        registeredBy: actor,
        registeredAt: txTimeIso(ctx),
        statusHistory: [],
      };
      const out = await putAndEmit(ctx, k, 'DeviceRegistered', device);
      await bindToOwner(ctx, k, actor.mspId);
      return out;
    });
  }

  @Submit()
  async SetStatus(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'device:SetStatus', input, async ({ actor, data: d }) => {
      const device = await loadDevice(ctx, d.deviceId);
      if (device.ownerMsp !== actor.mspId) throw new ForbiddenError(`device ${d.deviceId} belongs to ${device.ownerMsp}`);
      if (device.status === d.status) throw new InvalidStateError(`device ${d.deviceId} is already ${d.status}`);
      const after: DeviceRecord = {
        ...device,
        status: d.status,
        statusHistory: [...device.statusHistory, { status: d.status, reason: d.reason, actor, at: txTimeIso(ctx) }],
      };
      return putAndEmit(ctx, key(ctx, KEYS.device, [d.deviceId]), 'DeviceStatusChanged', after);
    });
  }

  @Evaluate()
  async Get(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'device:Get', input, async ({ actor, data: d }) => {
      const device = await loadDevice(ctx, d.deviceId);
      assertMayAccess(actor, device.ownerMsp, `device ${d.deviceId}`);
      return canonicalJson(device);
    });
  }
}
