/**
 * The parts of an X.509 certificate the verifier needs: the signed TBS bytes and signature, the
 * raw issuer and subject names (chains are built by comparing them, as Go's crypto/x509 does),
 * validity, the public key, whether it is a CA, and the subject's OU values (Fabric NodeOUs).
 */

import { toHex } from './bytes.js';
import { children, oid, parseOne, type Tlv, text, time } from './der.js';

export interface Certificate {
  der: Uint8Array;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  serialHex: string;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  subject: Map<string, string[]>;
  /** `CN=...,OU=...` for messages. */
  subjectText: string;
  notBefore: number;
  notAfter: number;
  spki: Uint8Array;
  /** Named curve OID of an EC key, null for other keys. */
  curve: string | null;
  isCa: boolean;
  subjectKeyId: string | null;
  authorityKeyId: string | null;
}

const NAME_OIDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

function parseName(name: Tlv): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (!type || !value) continue;
      const key = NAME_OIDS[oid(type)] ?? oid(type);
      out.set(key, [...(out.get(key) ?? []), text(value)]);
    }
  }
  return out;
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

export function parseCertificate(der: Uint8Array): Certificate {
  try {
    const cert = parseOne(der);
    const [tbsTlv, algTlv, sigTlv] = children(cert);
    if (!tbsTlv || !algTlv || !sigTlv || sigTlv.tag !== 0x03) throw new CertificateError('not an X.509 certificate');
    const tbs = children(tbsTlv);
    let i = tbs[0]?.tag === 0xa0 ? 1 : 0;
    const serial = tbs[i++]!;
    i++; // inner signature algorithm, repeated in the outer one
    const issuer = tbs[i++]!;
    const validity = children(tbs[i++]!);
    const subject = tbs[i++]!;
    const spki = tbs[i++]!;
    let isCa = false;
    let subjectKeyId: string | null = null;
    let authorityKeyId: string | null = null;
    for (const rest of tbs.slice(i)) {
      if (rest.tag !== 0xa3) continue;
      for (const ext of children(children(rest)[0]!)) {
        const parts = children(ext);
        const id = oid(parts[0]!);
        // Only the extensions read here are DER; others (e.g. Fabric CA's attribute JSON) are opaque.
        if (!['2.5.29.19', '2.5.29.14', '2.5.29.35'].includes(id)) continue;
        const value = parseOne(parts[parts.length - 1]!.content);
        if (id === '2.5.29.19') isCa = children(value)[0]?.tag === 0x01 && children(value)[0]!.content[0] !== 0;
        if (id === '2.5.29.14') subjectKeyId = toHex(value.content);
        if (id === '2.5.29.35')
          authorityKeyId = children(value).find((c) => c.tag === 0x80) ? toHex(children(value).find((c) => c.tag === 0x80)!.content) : null;
      }
    }
    const spkiAlg = children(children(spki)[0]!);
    const subjectMap = parseName(subject);
    return {
      der,
      tbs: tbsTlv.raw,
      signatureAlgorithm: oid(children(algTlv)[0]!),
      // BIT STRING: first content byte is the count of unused bits (0 for signatures).
      signature: sigTlv.content.subarray(1),
      serialHex: toHex(serial.content),
      issuerRaw: issuer.raw,
      subjectRaw: subject.raw,
      subject: subjectMap,
      subjectText: [...subjectMap].map(([k, vs]) => vs.map((v) => `${k}=${v}`).join(',')).join(','),
      notBefore: time(validity[0]!),
      notAfter: time(validity[1]!),
      spki: spki.raw,
      curve: spkiAlg[1]?.tag === 0x06 ? oid(spkiAlg[1]) : null,
      isCa,
      subjectKeyId,
      authorityKeyId,
    };
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`not a readable X.509 certificate (${(e as Error).message})`);
  }
}
