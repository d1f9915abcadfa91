/**
 * The gateway checks roles itself before the ledger does. Its per-route roles must never be wider
 * than the chaincode's own table (TX_ACCESS in the shared schema, enforced by chaincode/src/access.ts), and for every route that
 * submits a transaction they must be the same, so a caller refused by one is refused by the other.
 */

import { ENTERPRISE_MSP, REGULATOR_MSP, ROLES, TX_ACCESS } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { offlineApp } from '../support/offline.js';

const MSP = { enterprise: ENTERPRISE_MSP, regulator: REGULATOR_MSP } as const;

describe("gateway: route roles match the chaincode's access table", () => {
  const { routes } = offlineApp();
  for (const r of routes.filter((x) => x.tx)) {
    it(`${r.method.toUpperCase()} ${r.path} = ${r.tx}`, () => {
      const rule = (TX_ACCESS as Record<string, Record<string, readonly string[]>>)[r.tx!];
      expect(rule, r.tx).to.be.an('object');
      for (const org of ['enterprise', 'regulator'] as const) {
        const gatewayRoles = r.access?.[org];
        const chaincodeRoles = rule![MSP[org]] ?? [];
        const expanded = gatewayRoles === 'any' ? ROLES : (gatewayRoles ?? []);
        expect([...expanded].sort(), `${org}`).to.deep.equal([...chaincodeRoles].sort());
      }
    });
  }
});
