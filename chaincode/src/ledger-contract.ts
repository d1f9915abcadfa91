import { TX_INPUT_SCHEMAS } from '@compliance-ledger/schema';
import { Context, Contract } from 'fabric-contract-api';
import { NotFoundError, toLedgerError } from './errors';
import { flushWrites } from './store';

/**
 * The base of every contract. fabric-contract-api answers a call of a transaction that does not
 * exist with its own uncoded text; here it is a coded NOT_FOUND that lists what exists.
 */
export class LedgerContract extends Contract {
  /**
   * fabric-contract-api calls this after a transaction function returns, and not after one that
   * throws: the transaction's writes, held until now (store.ts), go to the peer in one request.
   */
  override async afterTransaction(ctx: Context, _result: unknown): Promise<void> {
    try {
      await flushWrites(ctx);
    } catch (err) {
      throw toLedgerError(err);
    }
  }

  override async unknownTransaction(ctx: Context): Promise<void> {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    const prefix = `${this.getName()}:`;
    const known = Object.keys(TX_INPUT_SCHEMAS)
      .filter((t) => t.startsWith(prefix))
      .map((t) => t.slice(prefix.length));
    throw new NotFoundError(`transaction ${fcn} does not exist${known.length > 0 ? `; ${this.getName()} has ${known.join(', ')}` : ''}`);
  }
}
