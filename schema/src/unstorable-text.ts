/**
 * Text that PostgreSQL cannot store, in any string of an input: U+0000 (NUL), which `text` and
 * `jsonb` refuse, and a lone UTF-16 surrogate (half of a pair, not a character), which `jsonb`
 * refuses as `\ud800` and `text` would store as U+FFFD. PostgreSQL mirrors the ledger for the
 * regulator and keeps the gateway's idempotency records: a query parameter with a NUL failed there
 * (a 500 the gateway's fuzz test found), and a record with either, once committed to the ledger,
 * would stop the indexer at its block. No field of the ledger's inputs needs them, so the chaincode
 * and the gateway both refuse such input, naming the field; the indexer mirrors what a ledger from
 * before that refusal holds through `storableCopy`.
 */

const NUL = 'holds a NUL character (U+0000), which no field accepts: remove it';
const LONE_SURROGATE = 'holds a lone UTF-16 surrogate (half of a pair, not a character): send valid Unicode text';
const LONE_SURROGATE_PATTERN = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE_PATTERN.source, 'g');

function problemOf(text: string): string | undefined {
  if (text.includes('\u0000')) return NUL;
  return LONE_SURROGATE_PATTERN.test(text) ? LONE_SURROGATE : undefined;
}

/** The first string (or object key) of `value` that PostgreSQL cannot store: its path and what is wrong; undefined when none. */
export function unstorableText(value: unknown): { path: string[]; problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = problemOf(value);
    return problem ? { path: [], problem } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, v] of entries) {
    const problem = Array.isArray(value) ? undefined : problemOf(key);
    if (problem) return { path: [key], problem };
    const inner = unstorableText(v);
    if (inner) return { path: [key, ...inner.path], problem: inner.problem };
  }
  return undefined;
}

/** `value` with every U+0000 and lone surrogate (in strings and keys, at any depth) replaced by U+FFFD. */
export function storableCopy(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
  if (Array.isArray(value)) return value.map(storableCopy);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableCopy(k) as string, storableCopy(v)]));
}
