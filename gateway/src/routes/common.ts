import { z } from 'zod';

/** A ledger record as the chaincode returns it (types in @compliance-ledger/schema records.ts). */
export const ledgerRecordSchema = z.object({}).catchall(z.unknown()).meta({ description: 'record as returned by the chaincode (canonical JSON)' });
export const txResultSchema = z.object({
  transactionId: z.string(),
  blockNumber: z.number().int().optional(),
  record: ledgerRecordSchema,
});
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    status: z.number().int(),
    message: z.string(),
    requestId: z.string().optional(),
    details: z.object({}).catchall(z.unknown()).optional(),
  }),
});
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: z.number().int(), totalIsExact: z.boolean().optional(), limit: z.number().int(), offset: z.number().int() });
