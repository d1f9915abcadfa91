/**
 * Fabric marks a re-submitted envelope with validation code DUPLICATE_TXID, which is 9 (migration
 * 001 wrongly excluded code 2, BAD_PAYLOAD, from the tx id uniqueness). Found on the real network:
 * a second submission of the same signed transaction is committed in a later block with code 9.
 */

import { peer } from '@hyperledger/fabric-protos';
import type { Knex } from 'knex';

export const name = '005-duplicate-txid-code';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS transactions_tx_id_unique');
  await knex.raw(
    `CREATE UNIQUE INDEX transactions_tx_id_unique ON transactions (tx_id) WHERE tx_id <> '' AND ` +
      `validation_code <> ${Number(peer.TxValidationCode.DUPLICATE_TXID)}`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS transactions_tx_id_unique');
  await knex.raw(`CREATE UNIQUE INDEX transactions_tx_id_unique ON transactions (tx_id) WHERE tx_id <> '' AND validation_code <> 2`);
}
