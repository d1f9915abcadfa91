/**
 * The one canonical JSON of the project: object keys sorted (by UTF-16 code units) at every depth,
 * object members that are undefined left out, no whitespace. Endorsers must produce byte-identical
 * write sets, and hashes and signatures over a value must not depend on the order in which some
 * producer wrote its keys. A value JSON cannot represent faithfully (a non-finite number, a
 * function, a symbol, a bigint, undefined where a value is needed) is an error, never a silent null.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, []);
}

/**
 * `path` holds the keys and indexes down to `value`, turned into text only for an error message:
 * building that text for every member made encoding a permit record three times as costly, and
 * the chaincode encodes every record it writes (`npm run bench:hot-path -w gateway`).
 */
function encode(value: unknown, path: (string | number)[]): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${where(path)} is ${value}, which JSON cannot represent`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out += (i === 0 ? '' : ',') + encode(value[i], path);
      path.pop();
    }
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    let out = '{';
    for (const k of Object.keys(o).sort()) {
      const v = o[k];
      if (v === undefined) continue;
      path.push(k);
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(k)}:${encode(v, path)}`;
      path.pop();
    }
    return `${out}}`;
  }
  throw new TypeError(`canonical JSON: ${where(path)} is of type ${typeof value}, which JSON cannot represent`);
}

function where(path: (string | number)[]): string {
  return `(value)${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')}`;
}
