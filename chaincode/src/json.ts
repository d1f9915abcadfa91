/**
 * Canonical JSON: object keys sorted at every depth. Endorsers must produce byte-identical write
 * sets, and key order of objects built from parsed input is not something to rely on.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortDeep(v);
    }
    return out;
  }
  return value;
}

export function toBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
