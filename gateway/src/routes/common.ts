import { z } from 'zod';
import type { SubmitResult } from '../ledger.js';

/** A ledger record as the chaincode returns it (types in @compliance-ledger/schema records.ts). */
export const ledgerRecordSchema = z.object({}).catchall(z.unknown()).meta({ description: 'record as returned by the chaincode (canonical JSON)' });
export const txResultSchema = z.object({
  transactionId: z.string(),
  blockNumber: z.number().int().optional(),
  record: ledgerRecordSchema,
});
/** The answer of every write: also rebuilt from the ledger for a replay whose first request lost the commit status. */
export function txResultBody(r: SubmitResult<unknown>): z.infer<typeof txResultSchema> & { blockNumber: number | undefined } {
  return { transactionId: r.transactionId, blockNumber: r.blockNumber, record: r.result as Record<string, unknown> };
}
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    status: z.number().int(),
    message: z.string(),
    requestId: z.string().optional(),
    details: z.object({}).catchall(z.unknown()).optional(),
  }),
});
export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), total: z.number().int(), totalIsExact: z.boolean().optional(), limit: z.number().int(), offset: z.number().int() });
