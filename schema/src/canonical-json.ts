/**
 * The one canonical JSON of the project: object keys sorted (by UTF-16 code units) at every depth,
 * object members that are undefined left out, no whitespace. Endorsers must produce byte-identical
 * write sets, and hashes and signatures over a value must not depend on the order in which some
 * producer wrote its keys. A value JSON cannot represent faithfully (a non-finite number, a
 * function, a symbol, a bigint, undefined where a value is needed) is an error, never a silent null.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '(value)');
}

function encode(value: unknown, at: string): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${at} is ${value}, which JSON cannot represent`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${at}[${i}]`)).join(',')}]`;
  if (typeof value === 'object') {
    const members = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], `${at}.${k}`)}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonical JSON: ${at} is of type ${typeof value}, which JSON cannot represent`);
}
