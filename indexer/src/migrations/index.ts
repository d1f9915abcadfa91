/**
 * Migrations are listed in code rather than discovered in a folder: the same list then works from
 * TypeScript sources (tsx, tests) and from the compiled dist/, and the order is explicit.
 */
import type { Knex } from 'knex';
import * as rawLedger from './001-raw-ledger.js';
import * as domain from './002-domain.js';
import * as erasures from './003-personal-data-erasures.js';
import * as perPermitKeys from './004-per-permit-keys.js';
import * as duplicateTxid from './005-duplicate-txid-code.js';
import * as parseError from './006-transaction-parse-error.js';
import * as permitsAppliedAt from './007-permits-applied-at.js';
import * as gateCheckDevice from './008-gate-check-device.js';
import * as evidencePins from './009-evidence-pins.js';
import * as regulatorQueryScale from './010-regulator-query-scale.js';
import * as regulatorRollups from './011-regulator-rollups.js';
import * as kpiNowCounters from './012-kpi-now-counters.js';
import * as violationFlags from './013-violation-flags-alarm-site-months.js';
import * as statementCounters from './014-statement-counters.js';
import * as alarmSiteRunningTotals from './015-alarm-site-running-totals.js';
import * as alarmResponseBucketTable from './016-alarm-response-bucket-table.js';
import * as trailScopeAndDays from './017-trail-scope-and-days.js';
import * as rawLedgerWithoutForeignKeys from './018-raw-ledger-without-foreign-keys.js';
import * as alarmDeviceOwner from './019-alarm-device-owner.js';

interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const migrations: readonly Migration[] = [
  rawLedger,
  domain,
  erasures,
  perPermitKeys,
  duplicateTxid,
  parseError,
  permitsAppliedAt,
  gateCheckDevice,
  evidencePins,
  regulatorQueryScale,
  regulatorRollups,
  kpiNowCounters,
  violationFlags,
  statementCounters,
  alarmSiteRunningTotals,
  alarmResponseBucketTable,
  trailScopeAndDays,
  rawLedgerWithoutForeignKeys,
  alarmDeviceOwner,
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};
