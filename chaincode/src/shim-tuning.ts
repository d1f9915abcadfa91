/**
 * Two per-transaction costs of fabric-shim that profiles of the chaincode server at saturation
 * showed (bench/RESULTS.md, issue 18 point 3), removed without changing what the shim does. Runs
 * once, when the shim loads this package.
 */
import { createRequire } from 'node:module';

// The copies fabric-shim itself loads, whatever the hoisting.
const shimRequire = createRequire(require.resolve('fabric-shim'));

interface WinstonLogger {
  level: string;
  levels: Record<string, number>;
  isLevelEnabled(level: string): boolean;
  write(info: unknown, ...rest: unknown[]): boolean;
}

const LEVEL = Symbol.for('level');

/**
 * winston formats every message (timestamp, metadata, colours, padding, printf) through its
 * streams before the transport drops those below the level, and the shim logs several debug lines
 * per transaction: at the default WARNING level that was about a sixth of the server's CPU. A
 * message that no transport would print is dropped before any of that; with a level winston does
 * not know (the shim maps CRITICAL to `fatal`), everything goes the usual way.
 */
export function skipDisabledLogLevels(): void {
  const proto = (shimRequire('winston/lib/winston/logger') as { prototype: WinstonLogger }).prototype;
  const write = proto.write;
  proto.write = function (this: WinstonLogger, info: unknown, ...rest: unknown[]): boolean {
    const level = typeof info === 'object' && info !== null ? (info as { [LEVEL]?: unknown })[LEVEL] : undefined;
    const known = typeof level === 'string' && this.levels[level] !== undefined && this.levels[this.level] !== undefined;
    if (known && !this.isLevelEnabled(level)) return true;
    return write.call(this, info, ...rest);
  };
}

interface X509Module {
  Certificate: { fromPEM(data: Buffer | string): unknown };
}

/** Enough for every identity of a site's staff and devices; a full cache starts over. */
const MAX_PARSED_CERTIFICATES = 1000;

/**
 * The shim parses the creator's X.509 certificate (ASN.1, with @fidm/x509) for every transaction to
 * build ctx.clientIdentity, about 6 % of the server's CPU, though a site has few identities. The
 * parse depends only on the PEM text, and the shim only reads the result (subject, issuer,
 * extensions), so the same text gets the same parsed certificate. The peer has already verified
 * the creator's signature; nothing here decides trust.
 */
export function rememberParsedCertificates(): void {
  const { Certificate } = shimRequire('@fidm/x509') as X509Module;
  const parse = Certificate.fromPEM.bind(Certificate);
  const parsed = new Map<string, unknown>();
  Certificate.fromPEM = (data: Buffer | string) => {
    const pem = typeof data === 'string' ? data : data.toString('latin1');
    let cert = parsed.get(pem);
    if (cert === undefined) {
      cert = parse(data);
      if (parsed.size >= MAX_PARSED_CERTIFICATES) parsed.clear();
      parsed.set(pem, cert);
    }
    return cert;
  };
}
