/**
 * U+0000 (NUL) in any text of an input. No field of the ledger's inputs takes one, and PostgreSQL,
 * which mirrors the ledger for the regulator and keeps the gateway's idempotency records, stores no
 * NUL in `text` or `jsonb`: a query parameter with one failed there (a 500 the gateway's fuzz test
 * found), and a record with one committed to the ledger would stop the indexer at its block. The
 * chaincode and the gateway both refuse such input, naming the field.
 */

/** The path to the first string (or object key) of `value` that holds U+0000, or undefined when none does. */
export function nulCharacterPath(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = nulCharacterPath(value[i]);
      if (inner) return [String(i), ...inner];
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('\u0000')) return [key];
    const inner = nulCharacterPath(v);
    if (inner) return [key, ...inner];
  }
  return undefined;
}

/** What to tell the sender of such input. */
export const NUL_CHARACTER_MESSAGE = 'holds a NUL character (U+0000), which no field accepts: remove it';
