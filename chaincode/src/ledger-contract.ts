import { TX_INPUT_SCHEMAS } from '@compliance-ledger/schema';
import { Context, Contract } from 'fabric-contract-api';
import { NotFoundError } from './errors';

/**
 * The base of every contract. fabric-contract-api answers a call of a transaction that does not
 * exist with its own uncoded text; here it is a coded NOT_FOUND that lists what exists.
 */
export class LedgerContract extends Contract {
  override async unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    const prefix = `${this.getName()}:`;
    const known = Object.keys(TX_INPUT_SCHEMAS)
      .filter((t) => t.startsWith(prefix))
      .map((t) => t.slice(prefix.length));
    throw new NotFoundError(`transaction ${fcn} does not exist${known.length > 0 ? `; ${this.getName()} has ${known.join(', ')}` : ''}`);
  }
}
