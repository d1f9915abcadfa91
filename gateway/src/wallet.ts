/**
 * Each user's own Fabric identity: registered at their org's Fabric CA with the role attributes
 * the chaincode checks (ledger.role, ledger.department, ledger.workerId, all in the ecert), enrolled
 * once, and kept in a wallet directory only the service can read (0700 directories, 0600 keys).
 * Registration and enrolment go through fabric-ca-client, the same tool scripts/enroll-user.sh uses.
 */

import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { enrolledIdentityFiles, type SigningIdentity, signingIdentityFromFiles } from '@compliance-ledger/fabric-client';
import { type ConnectionProfile, DEPARTMENT_ATTRIBUTE, ROLE_ATTRIBUTE, WORKER_ID_ATTRIBUTE } from '@compliance-ledger/schema';
import type { Org, PrincipalClaims } from './auth.js';
import { ApiError, ForbiddenError, type IdentityDifference, IdentityMismatchError, NotFoundError, OrgNotServedError, UnavailableError } from './errors.js';
import type { Logger } from './logger.js';

const run = promisify(execFile);

/** A user of the org whose key the gateway holds (custodial), with the certificate's ledger attributes. */
export interface WalletIdentity extends SigningIdentity {
  org: Org;
  sub: string;
  role: string;
  department: string | null;
  workerId: string | null;
}

interface StoredMeta {
  sub: string;
  role: string;
  department: string | null;
  workerId: string | null;
  enrolledAt: string;
}

export interface WalletOptions {
  dir: string;
  profile: ConnectionProfile;
  caClient: string;
  registrarId: string;
  /** Only the served orgs' registrars: a gateway of one org holds no secret of the other. */
  registrarSecretFiles: Partial<Record<Org, string>>;
  retryAfterSeconds: number;
  logger: Logger;
}

export class Wallet {
  private readonly cache = new Map<string, WalletIdentity>();
  private readonly pending = new Map<string, Promise<WalletIdentity>>();

  constructor(private readonly o: WalletOptions) {
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(o.dir, 0o700);
  }

  /** The user's identity, registering and enrolling it at the CA the first time. */
  async identityFor(claims: PrincipalClaims): Promise<WalletIdentity> {
    this.assertServed(claims.org);
    const key = `${claims.org}/${claims.sub}`;
    const hit = this.cache.get(key);
    if (hit && identityDifferences(hit, claims).length === 0) return hit;
    // A mismatch is checked against the wallet entry as it is now: an admin may have re-enrolled
    // the user with other attributes (README, Identity), which needs no restart.
    if (hit) this.cache.delete(key);
    let p = this.pending.get(key);
    if (!p) {
      p = this.load(claims).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const id = await p;
    this.checkSame(id, claims);
    return id;
  }

  /**
   * The token's claims must be the certificate's attributes: the certificate is what the chaincode
   * checks, so a token claiming something else would sign as someone it does not say.
   */
  private checkSame(id: WalletIdentity, c: PrincipalClaims): void {
    const differences = identityDifferences(id, c);
    if (differences.length > 0) throw new IdentityMismatchError(id, differences);
  }

  /** Whether this wallet holds (or may create) identities of the org. */
  serves(org: Org): boolean {
    return this.o.registrarSecretFiles[org] !== undefined;
  }

  private assertServed(org: Org): void {
    if (!this.serves(org)) throw new OrgNotServedError(org, Object.keys(this.o.registrarSecretFiles) as Org[]);
  }

  /**
   * The org's registrar as a channel identity, for what the gateway does on its own account: asking
   * its peer whether a client-signed transaction committed. It carries no ledger role.
   */
  async serviceIdentity(org: Org): Promise<WalletIdentity> {
    const key = `${org}/.registrar`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const id: WalletIdentity = {
      org,
      sub: this.o.registrarId,
      role: '',
      department: null,
      workerId: null,
      ...this.enrolled(org, await this.registrarHome(org), `the ${org} registrar's`),
    };
    this.cache.set(key, id);
    return id;
  }

  /**
   * Onboarding by the org's admin: registers the user at the org's own CA with the attributes the
   * chaincode checks, so they are in every certificate the user enrols. Returns the one-time
   * enrolment secret: the user enrols with it and keeps the key (the gateway keeps nothing). With
   * `custodial`, the gateway enrols the user into its wallet instead and returns no secret.
   */
  async onboard(
    org: Org,
    u: { sub: string; role: string; department?: string | undefined; workerId?: string | undefined },
    custodial: boolean,
  ): Promise<{ enrollmentSecret?: string }> {
    this.assertServed(org);
    const registrar = await this.registrarHome(org);
    const { url, common } = this.caArgs(org);
    const secret = crypto.randomBytes(18).toString('hex');
    try {
      await this.ca(
        ['register', ...common, '-H', registrar, '--id.name', u.sub, '--id.type', 'client', '--id.affiliation', '', '--id.attrs', attributeList(u).join(',')],
        `registering ${u.sub}`,
        { FABRIC_CA_CLIENT_URL: origin(url), FABRIC_CA_CLIENT_ID_SECRET: secret },
      );
    } catch (e) {
      if (e instanceof AlreadyRegistered)
        throw new ApiError(
          'ALREADY_EXISTS',
          `${u.sub} is already registered at the ${org} CA; a role change is a re-registration under a new enrolment id after revoking this one`,
        );
      throw e;
    }
    this.o.logger.info({ sub: u.sub, org, role: u.role, custodial }, 'onboarded a user at the Fabric CA');
    if (!custodial) return { enrollmentSecret: secret };
    const dir = this.userDir(org, u.sub);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'secret'), secret, { mode: 0o600 });
    await this.enroll({ sub: u.sub, org, role: u.role as PrincipalClaims['role'] }, dir);
    return {};
  }

  /**
   * Revokes every certificate of the user at the org's CA and returns the CA's new CRL (PEM). The
   * peers refuse the certificates once the CRL is in the org's MSP in the channel configuration,
   * which only the org's admin can update (scripts/revoke-user.sh); this process holds no admin key.
   */
  async revoke(org: Org, sub: string, reason: string): Promise<string> {
    this.assertServed(org);
    // Revoking the registrar would leave the gateway unable to onboard or revoke anyone.
    if (sub === this.o.registrarId) throw new ForbiddenError(`${sub} is the ${org} CA's registrar; revoke it at the CA itself, not through the gateway`);
    const registrar = await this.registrarHome(org);
    const { url, common } = this.caArgs(org);
    const crlFile = path.join(registrar, 'msp', 'crls', 'crl.pem');
    fs.rmSync(crlFile, { force: true });
    await this.ca(['revoke', ...common, '-H', registrar, '-e', sub, '-r', reason, '--gencrl'], `revoking ${sub}`, { FABRIC_CA_CLIENT_URL: origin(url) });
    this.cache.delete(`${org}/${sub}`);
    fs.rmSync(this.userDir(org, sub), { recursive: true, force: true });
    // Tokens for the subject stay valid until they expire, and the peers refuse its certificate
    // only once the CRL is in the channel configuration: the gateway refuses them from now on.
    fs.mkdirSync(this.revokedDir(org), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.revokedDir(org), sub), `${JSON.stringify({ sub, reason, revokedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
    this.o.logger.warn({ sub, org, reason }, 'revoked a user at the Fabric CA');
    return fs.readFileSync(crlFile, 'utf8');
  }

  /** Whether the subject was revoked through a gateway sharing this wallet directory. */
  isRevoked(org: Org, sub: string): boolean {
    return fs.existsSync(path.join(this.revokedDir(org), sub));
  }

  /** A subject starts with a letter or digit, so `.revoked` is no user's entry. */
  private revokedDir(org: Org): string {
    return path.join(this.o.dir, org, '.revoked');
  }

  private userDir(org: Org, sub: string): string {
    return path.join(this.o.dir, org, sub);
  }

  private async load(c: PrincipalClaims): Promise<WalletIdentity> {
    const dir = this.userDir(c.org, c.sub);
    const metaFile = path.join(dir, 'identity.json');
    // No identity.json, or no certificate (a gateway killed between replacing the msp folder's two
    // halves): the entry is not whole, and enrolling again makes it so.
    if (!fs.existsSync(metaFile) || !fs.existsSync(path.join(dir, 'msp', 'signcerts', 'cert.pem'))) await this.enroll(c, dir);
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as StoredMeta;
    const enrolled = this.enrolled(c.org, dir, `${c.sub}'s`);
    // The attributes are the certificate's, not the stored copy's: they are what the chaincode sees.
    const attrs = certificateAttributes(enrolled.certificate);
    const id: WalletIdentity = {
      org: c.org,
      sub: meta.sub,
      role: attrs[ROLE_ATTRIBUTE] ?? '',
      department: attrs[DEPARTMENT_ATTRIBUTE] ?? null,
      workerId: attrs[WORKER_ID_ATTRIBUTE] ?? null,
      ...enrolled,
    };
    this.cache.set(`${c.org}/${c.sub}`, id);
    return id;
  }

  /** The certificate and key fabric-ca-client enrolled into a wallet entry. */
  private enrolled(org: Org, dir: string, whose: string): SigningIdentity {
    try {
      return signingIdentityFromFiles(this.o.profile.organizations[org].mspId, enrolledIdentityFiles(dir));
    } catch (e) {
      throw new ApiError('INTERNAL', `${whose} wallet entry is incomplete: ${(e as Error).message}`);
    }
  }

  private caArgs(org: Org): { url: URL; common: string[] } {
    const ca = this.o.profile.organizations[org].ca;
    if (!ca) throw new UnavailableError('IDENTITY_UNAVAILABLE', `the ${org} org has no Fabric CA in the connection profile`, this.o.retryAfterSeconds);
    return { url: new URL(ca.url), common: ['--caname', ca.caName, '--tls.certfiles', ca.tlsCaFile] };
  }

  /**
   * Runs fabric-ca-client. Credentials travel in its environment (FABRIC_CA_CLIENT_URL with the
   * enrollment secret, FABRIC_CA_CLIENT_ID_SECRET for a registration), not on the command line
   * where any local user could read them.
   */
  private async ca(args: string[], what: string, env: Record<string, string> = {}): Promise<string> {
    try {
      const { stdout, stderr } = await run(this.o.caClient, args, { timeout: 60_000, env: { ...process.env, FABRIC_CA_CLIENT_HOME: '', ...env } });
      return stdout + stderr;
    } catch (e) {
      const err = e as { stderr?: string; message: string; code?: string };
      const out = `${err.stderr ?? ''} ${err.message}`
        .replace(/\/\/[^@/\s]*@/g, '//***@')
        .replace(/--(id\.)?secret \S+/g, '--secret ***')
        .replace(/Password: \S+/g, 'Password: ***');
      if (/already registered/i.test(out)) throw new AlreadyRegistered(`${what}: the enrollment id is already registered at the CA`);
      if (/Identity \S+ was not found/i.test(out)) throw new NotFoundError(`${what}: the enrollment id is not registered at the CA`);
      this.o.logger.warn({ err: out.slice(-2000) }, `fabric-ca-client failed: ${what}`);
      throw new UnavailableError('IDENTITY_UNAVAILABLE', `${what} failed at the Fabric CA`, this.o.retryAfterSeconds);
    }
  }

  private async registrarHome(org: Org): Promise<string> {
    const home = path.join(this.o.dir, org, '.registrar');
    if (fs.existsSync(path.join(home, 'msp', 'signcerts', 'cert.pem'))) return home;
    const { url, common } = this.caArgs(org);
    this.assertServed(org);
    const secret = fs.readFileSync(this.o.registrarSecretFiles[org]!, 'utf8').trim();
    const u = new URL(url);
    u.username = this.o.registrarId;
    u.password = secret;
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    await this.ca(['enroll', ...common, '-H', home], `enrolling the ${org} registrar`, { FABRIC_CA_CLIENT_URL: origin(u) });
    lockDown(home);
    return home;
  }

  private async enroll(c: PrincipalClaims, dir: string): Promise<void> {
    const registrar = await this.registrarHome(c.org);
    const { url, common } = this.caArgs(c.org);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const secretFile = path.join(dir, 'secret');
    if (!fs.existsSync(secretFile)) {
      const secret = crypto.randomBytes(18).toString('hex');
      const attrs = attributeList(c);
      try {
        await this.ca(
          ['register', ...common, '-H', registrar, '--id.name', c.sub, '--id.type', 'client', '--id.affiliation', '', '--id.attrs', attrs.join(',')],
          `registering ${c.sub}`,
          { FABRIC_CA_CLIENT_URL: origin(url), FABRIC_CA_CLIENT_ID_SECRET: secret },
        );
      } catch (e) {
        if (!(e instanceof AlreadyRegistered)) throw e;
        // Registered before, but not in this wallet (a lost or moved wallet, or registered by an
        // admin): the registration's attributes stand; only the secret is reset so that this
        // gateway can enrol, and a token claiming other attributes is then refused like any other.
        // (fabric-ca-client reads this secret from the command line only.)
        await this.ca(['identity', 'modify', c.sub, ...common, '-H', registrar, '--secret', secret], `resetting the secret of ${c.sub}`, {
          FABRIC_CA_CLIENT_URL: origin(url),
        });
        this.o.logger.warn({ sub: c.sub, org: c.org }, 'the user was registered at the CA outside this wallet; secret reset, attributes kept');
      }
      fs.writeFileSync(secretFile, secret, { mode: 0o600 });
    }
    const u = new URL(url);
    u.username = c.sub;
    u.password = fs.readFileSync(secretFile, 'utf8').trim();
    // fabric-ca-client enrols into a fresh folder that then replaces the entry's msp whole: a
    // gateway killed mid-enrolment leaves the earlier certificate and key or none, never a new
    // certificate beside an old key (which the peers refuse as a bad signature).
    for (const stale of fs.readdirSync(dir).filter((f) => f.startsWith('.enrolling-') || f.startsWith('.msp-replaced-'))) {
      fs.rmSync(path.join(dir, stale), { recursive: true, force: true });
    }
    const staging = fs.mkdtempSync(path.join(dir, '.enrolling-'));
    try {
      await this.ca(['enroll', ...common, '-H', staging], `enrolling ${c.sub}`, { FABRIC_CA_CLIENT_URL: origin(u) });
      const msp = path.join(dir, 'msp');
      const replaced = `${staging.replace('.enrolling-', '.msp-replaced-')}`;
      if (fs.existsSync(msp)) fs.renameSync(msp, replaced);
      fs.renameSync(path.join(staging, 'msp'), msp);
      fs.rmSync(replaced, { recursive: true, force: true });
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    lockDown(dir);
    const attrs = certificateAttributes(fs.readFileSync(path.join(dir, 'msp', 'signcerts', 'cert.pem')));
    // A copy for people reading the wallet; load() reads the certificate.
    const meta: StoredMeta = {
      sub: c.sub,
      role: attrs[ROLE_ATTRIBUTE] ?? '',
      department: attrs[DEPARTMENT_ATTRIBUTE] ?? null,
      workerId: attrs[WORKER_ID_ATTRIBUTE] ?? null,
      enrolledAt: new Date().toISOString(),
    };
    // Written last and by rename: its presence says the entry is whole.
    fs.writeFileSync(path.join(dir, 'identity.json.tmp'), JSON.stringify(meta, null, 2), { mode: 0o600 });
    fs.renameSync(path.join(dir, 'identity.json.tmp'), path.join(dir, 'identity.json'));
    this.o.logger.info({ sub: c.sub, org: c.org, role: meta.role }, 'enrolled a user at the Fabric CA');
  }
}

/** Fabric CA's --id.attrs entries, each put into the enrolment certificate (`:ecert`). */
function attributeList(u: { role: string; department?: string | undefined; workerId?: string | undefined }): string[] {
  const attrs = [`${ROLE_ATTRIBUTE}=${u.role}:ecert`];
  if (u.department) attrs.push(`${DEPARTMENT_ATTRIBUTE}=${u.department}:ecert`);
  if (u.workerId) attrs.push(`${WORKER_ID_ATTRIBUTE}=${u.workerId}:ecert`);
  return attrs;
}

/** Only the service's user may read a wallet entry: 0700 directories, 0600 files. */
function lockDown(dir: string): void {
  for (const f of walk(dir)) fs.chmodSync(f.path, f.dir ? 0o700 : 0o600);
}

function* walk(dir: string): Generator<{ path: string; dir: boolean }> {
  yield { path: dir, dir: true };
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield { path: p, dir: false };
  }
}

/** scheme://user:secret@host:port without a path: fabric-ca-client appends its own. */
function origin(u: URL): string {
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return `${u.protocol}//${auth}${u.host}`;
}

class AlreadyRegistered extends ForbiddenError {}

/** The claims of a token that differ from the attributes in the identity's certificate. */
export function identityDifferences(id: Pick<WalletIdentity, 'role' | 'department' | 'workerId'>, c: PrincipalClaims): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  const compare = (claim: IdentityDifference['claim'], token: string | null, certificate: string | null) => {
    if (token !== certificate) out.push({ claim, token, certificate });
  };
  compare('role', c.role, id.role);
  compare('department', c.department ?? null, id.department);
  compare('workerId', c.workerId ?? null, id.workerId);
  return out;
}

// Fabric CA's attribute extension: OID 1.2.3.4.5.6.7.8.1, an OCTET STRING of {"attrs":{name:value}}.
const ATTRIBUTES_OID = Buffer.from([0x06, 0x08, 0x2a, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01]);

/** The Fabric CA attributes (`ledger.role` …) of a PEM certificate; empty when it has none. */
export function certificateAttributes(pem: Buffer | string): Record<string, string> {
  const der = new crypto.X509Certificate(pem).raw;
  const at = der.indexOf(ATTRIBUTES_OID);
  if (at < 0) return {};
  let i = at + ATTRIBUTES_OID.length;
  if (der[i] === 0x01) i += 2 + der[i + 1]!; // the extension's optional `critical` BOOLEAN
  if (der[i] !== 0x04) throw new ApiError('INTERNAL', "the certificate's attribute extension is not an OCTET STRING");
  let len = der[i + 1]!;
  i += 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + der[i + k]!;
    i += n;
  }
  const parsed = JSON.parse(der.subarray(i, i + len).toString('utf8')) as { attrs?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(parsed.attrs ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
