/**
 * One contract for every AlarmLedger: the outbox relies on these outcomes, so the double the outbox
 * tests use and the real FabricAlarmLedger (on the real network, through the chaincode) must give
 * the same ones for the same alarms.
 */

import type { SignedAlarmFields } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { type BaseWallet, Wallet } from 'ethers';
import type { AlarmLedger } from '../../src/outbox/alarm-ledger.js';
import { FabricAlarmLedger } from '../../src/outbox/fabric-ledger.js';
import { signAlarm } from '../../src/pipeline/alarm-signature.js';
import { alarmFieldsFor } from '../support/alarms.js';
import { LedgerDouble } from '../support/ledger-doubles.js';
import { enrollCast, LedgerClient, ledgerConfig, registerDevices, requireLedgerNetwork, uniqueId } from '../support/network.js';

interface Harness {
  ledger: AlarmLedger;
  device: { deviceId: string; siteId: string; areaId: string; wallet: BaseWallet };
  /** How many times the ledger holds the alarm (0 or 1 for a ledger that keeps its promise). */
  recorded(alarmId: string): Promise<number>;
  close(): Promise<void>;
}

function fields(h: Harness, o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return alarmFieldsFor(h.device.deviceId, h.device.siteId, h.device.areaId, o);
}

function newDevice() {
  const tag = uniqueId('contract');
  return { deviceId: `${tag}-gas`, siteId: `site-${tag}`, areaId: 'area-1', wallet: Wallet.createRandom() };
}

function alarmLedgerContract(name: string, setup: (ctx: Mocha.Context) => Promise<Harness>): void {
  describe(`AlarmLedger contract: ${name}`, function () {
    this.timeout(120_000);
    let h: Harness;
    before(async function () {
      h = await setup(this);
    });
    after(async () => h?.close());

    it('a device-signed alarm is committed with a transaction id, and recorded once', async () => {
      const alarm = await signAlarm(h.device.wallet, fields(h));
      const outcome = await h.ledger.submitAlarm(alarm);
      expect(outcome.status).to.equal('committed');
      expect(outcome.status === 'committed' && outcome.txId)
        .to.be.a('string')
        .and.not.equal('');
      expect(await h.recorded(alarm.fields.alarmId)).to.equal(1);
    });

    it('the same alarm again is a duplicate (REPLAY), and still recorded once', async () => {
      const alarm = await signAlarm(h.device.wallet, fields(h));
      expect((await h.ledger.submitAlarm(alarm)).status).to.equal('committed');
      expect(await h.ledger.submitAlarm(alarm)).to.deep.equal({ status: 'duplicate', code: 'REPLAY' });
      expect(await h.recorded(alarm.fields.alarmId)).to.equal(1);
    });

    it("an alarm signed by a key that is not the device's is rejected (SIGNATURE_INVALID), and not recorded", async () => {
      const forged = await signAlarm(Wallet.createRandom(), fields(h, { grade: 1, kind: 'oxygen_out_of_range' }));
      const outcome = await h.ledger.submitAlarm(forged);
      expect(outcome.status).to.equal('rejected');
      expect(outcome.status === 'rejected' && outcome.reason).to.match(/SIGNATURE_INVALID/);
      expect(await h.recorded(forged.fields.alarmId)).to.equal(0);
    });

    it('an alarm of a device the ledger does not know is rejected (NOT_FOUND), and not recorded', async () => {
      const ghost = Wallet.createRandom();
      const alarm = await signAlarm(ghost, fields(h, { deviceId: `${h.device.deviceId}-ghost` }));
      const outcome = await h.ledger.submitAlarm(alarm);
      expect(outcome.status).to.equal('rejected');
      expect(outcome.status === 'rejected' && outcome.reason).to.match(/NOT_FOUND: device/);
      expect(await h.recorded(alarm.fields.alarmId)).to.equal(0);
    });
  });
}

alarmLedgerContract('the double of the outbox tests', async () => {
  const device = newDevice();
  const ledger = new LedgerDouble(new Map([[device.deviceId, device.wallet.address]]));
  return { ledger, device, recorded: async (id) => ledger.commits.get(id) ?? 0, close: async () => undefined };
});

alarmLedgerContract('FabricAlarmLedger on the real network', async (ctx) => {
  const profile = requireLedgerNetwork(ctx);
  const cast = enrollCast(profile);
  const device = newDevice();
  const admin = LedgerClient.connect(profile, cast.admin);
  const reader = LedgerClient.connect(profile, cast.gateway);
  await registerDevices(admin, [{ deviceId: device.deviceId, siteId: device.siteId, areaId: device.areaId, address: device.wallet.address, kind: 'sensor' }]);
  const ledger = FabricAlarmLedger.connect(ledgerConfig(profile, cast.gateway));
  return {
    ledger,
    device,
    // Alarm ids are ledger keys: the chaincode holds at most one record per id, so found is once.
    recorded: async (id) => {
      try {
        return (await reader.getAlarm(id)).alarmId === id ? 1 : 0;
      } catch (err) {
        if (/NOT_FOUND/.test(JSON.stringify((err as { details?: unknown }).details ?? String(err)))) return 0;
        throw err;
      }
    },
    close: async () => {
      await ledger.close();
      admin.close();
      reader.close();
    },
  };
});
