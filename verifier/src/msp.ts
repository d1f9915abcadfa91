/**
 * The channel's organisations as the config block defines them (MSP roots, intermediates, NodeOUs,
 * policies), and identity validation against them: the certificate chains to one of the MSP's
 * roots, every certificate on the chain is valid at the transaction's time, and the identity's
 * roles follow from its OU (NodeOUs), as Fabric's MSP derives them.
 */

import type { Identity } from './block.js';
import { equal, fromUtf8, pemToDer, toHex } from './bytes.js';
import { children, parseOne } from './der.js';
import { hashOfAlgorithm, verifyEcdsa } from './ecdsa.js';
import { common, msp } from './protos.js';
import { type Certificate, parseCertificate } from './x509.js';

export type Role = 'member' | 'admin' | 'client' | 'peer' | 'orderer';

export interface Msp {
  id: string;
  roots: Certificate[];
  intermediates: Certificate[];
  admins: Certificate[];
  nodeOus: { enable: boolean; client: string | null; peer: string | null; admin: string | null; orderer: string | null };
  revokedSerials: Set<string>;
}

export interface ConfigPolicy {
  type: number;
  value: Uint8Array;
}

/** A node of the channel config tree: its sub-groups, MSP (for org groups) and policies. */
export interface ConfigNode {
  groups: Map<string, ConfigNode>;
  policies: Map<string, ConfigPolicy>;
  msp: Msp | null;
}

export interface ChannelConfig {
  blockNumber: number;
  root: ConfigNode;
  msps: Map<string, Msp>;
  /**
   * SmartBFT's consenters by id (`/Channel/Orderer` value `Orderers`): a BFT block signature names
   * its signer by this id. Empty for Raft, whose signatures carry the signer's identity.
   */
  consenters: Map<number, Identity>;
}

function certsOf(list: Uint8Array[]): Certificate[] {
  return list.map((pem) => parseCertificate(pemToDer(fromUtf8(pem))));
}

/**
 * Serial numbers listed in the MSP's CRLs. The CRL's own signature is not checked: the CRL comes
 * from the config block, whose integrity the hash chain and the orderer signature already prove.
 */
function crlSerials(crls: Uint8Array[]): Set<string> {
  const out = new Set<string>();
  for (const pem of crls) {
    const tbs = children(children(parseOne(pemToDer(fromUtf8(pem))))[0]!);
    // version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] extensions?
    const afterIssuer = tbs.slice(tbs[0]?.tag === 0x02 ? 3 : 2);
    const revoked = afterIssuer.find((t) => t.tag === 0x30);
    for (const entry of revoked ? children(revoked) : []) out.add(toHex(children(entry)[0]!.content));
  }
  return out;
}

function parseMsp(bytes: Uint8Array): Msp {
  const cfg = msp.MSPConfig.deserializeBinary(bytes);
  if (cfg.getType() !== 0) throw new Error(`MSP type ${cfg.getType()} is not X.509 (idemix is not supported)`);
  const f = msp.FabricMSPConfig.deserializeBinary(cfg.getConfig_asU8());
  const ous = f.getFabricNodeOus();
  const ou = (x: { getOrganizationalUnitIdentifier(): string } | undefined) => x?.getOrganizationalUnitIdentifier() || null;
  return {
    id: f.getName(),
    roots: certsOf(f.getRootCertsList_asU8()),
    intermediates: certsOf(f.getIntermediateCertsList_asU8()),
    admins: certsOf(f.getAdminsList_asU8()),
    nodeOus: {
      enable: ous?.getEnable() ?? false,
      client: ou(ous?.getClientOuIdentifier()),
      peer: ou(ous?.getPeerOuIdentifier()),
      admin: ou(ous?.getAdminOuIdentifier()),
      orderer: ou(ous?.getOrdererOuIdentifier()),
    },
    revokedSerials: crlSerials(f.getRevocationListList_asU8()),
  };
}

function node(group: InstanceType<typeof common.ConfigGroup>, msps: Map<string, Msp>): ConfigNode {
  const groups = new Map<string, ConfigNode>();
  group.getGroupsMap().forEach((g: InstanceType<typeof common.ConfigGroup>, name: string) => {
    groups.set(name, node(g, msps));
  });
  const policies = new Map<string, ConfigPolicy>();
  group.getPoliciesMap().forEach((p: InstanceType<typeof common.ConfigPolicy>, name: string) => {
    const policy = p.getPolicy();
    if (policy) policies.set(name, { type: policy.getType(), value: policy.getValue_asU8() });
  });
  let m: Msp | null = null;
  const mspValue = group.getValuesMap().get('MSP');
  if (mspValue) {
    m = parseMsp(mspValue.getValue_asU8());
    msps.set(m.id, m);
  }
  return { groups, policies, msp: m };
}

export function channelConfig(blockNumber: number, config: InstanceType<typeof common.Config>): ChannelConfig {
  const msps = new Map<string, Msp>();
  const group = config.getChannelGroup();
  if (!group) throw new Error(`config block ${blockNumber} has no channel group`);
  const consenters = new Map<number, Identity>();
  const orderers = group.getGroupsMap().get('Orderer')?.getValuesMap().get('Orderers');
  if (orderers) {
    for (const c of common.Orderers.deserializeBinary(orderers.getValue_asU8()).getConsenterMappingList()) {
      consenters.set(c.getId(), { mspId: c.getMspId(), idBytes: c.getIdentity_asU8() });
    }
  }
  return { blockNumber, root: node(group, msps), msps, consenters };
}

export interface ValidIdentity {
  mspId: string;
  cert: Certificate;
  roles: Set<Role>;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

function withinValidity(cert: Certificate, atMs: number | null, what: string): void {
  if (atMs === null) return;
  if (atMs < cert.notBefore)
    throw new IdentityError(
      `${what} ${cert.subjectText} is not valid before ${new Date(cert.notBefore).toISOString()} (used at ${new Date(atMs).toISOString()})`,
    );
  if (atMs > cert.notAfter)
    throw new IdentityError(`${what} ${cert.subjectText} expired at ${new Date(cert.notAfter).toISOString()} (used at ${new Date(atMs).toISOString()})`);
}

async function signedBy(child: Certificate, issuer: Certificate): Promise<boolean> {
  if (!equal(child.issuerRaw, issuer.subjectRaw)) return false;
  // Certificate signatures are checked as X.509 does: no low-S rule.
  return verifyEcdsa(issuer.spki, issuer.curve, hashOfAlgorithm(child.signatureAlgorithm), child.signature, child.tbs, false);
}

/**
 * Validates a serialized identity against the channel's MSPs at a point in time; `null`: at no
 * instant (chain, roles and revocation only, as Fabric's MSP validates identities).
 */
export async function validateIdentity(identity: Identity, atMs: number | null, config: ChannelConfig): Promise<ValidIdentity> {
  const m = config.msps.get(identity.mspId);
  if (!m) throw new IdentityError(`MSP ${identity.mspId} is not an organisation of the channel in config block ${config.blockNumber}`);
  let cert: Certificate;
  try {
    cert = parseCertificate(pemToDer(fromUtf8(identity.idBytes)));
  } catch (e) {
    throw new IdentityError(`the identity of ${identity.mspId} is not a readable certificate (${(e as Error).message})`);
  }
  if (cert.isCa) throw new IdentityError(`${cert.subjectText} is a CA certificate, not a signing identity`);
  withinValidity(cert, atMs, 'certificate');
  let current = cert;
  for (let depth = 0; depth < 6; depth++) {
    const root = await findIssuer(current, m.roots);
    if (root) {
      withinValidity(root, atMs, `root CA of ${m.id}`);
      if (m.revokedSerials.has(cert.serialHex)) throw new IdentityError(`certificate ${cert.subjectText} is revoked by ${m.id}`);
      return { mspId: m.id, cert, roles: rolesOf(cert, m) };
    }
    const intermediate = await findIssuer(current, m.intermediates);
    if (!intermediate)
      throw new IdentityError(
        `certificate ${current.subjectText} was not issued by any root or intermediate CA of ${m.id} in config block ${config.blockNumber}`,
      );
    withinValidity(intermediate, atMs, `intermediate CA of ${m.id}`);
    current = intermediate;
  }
  throw new IdentityError(`certificate chain of ${cert.subjectText} is too long`);
}

async function findIssuer(cert: Certificate, candidates: Certificate[]): Promise<Certificate | null> {
  for (const c of candidates) if (await signedBy(cert, c)) return c;
  return null;
}

function rolesOf(cert: Certificate, m: Msp): Set<Role> {
  const roles = new Set<Role>(['member']);
  const ous = cert.subject.get('OU') ?? [];
  if (m.nodeOus.enable) {
    for (const role of ['client', 'peer', 'admin', 'orderer'] as const) {
      const ou = m.nodeOus[role];
      if (ou && ous.includes(ou)) roles.add(role);
    }
    if (roles.size === 1) throw new IdentityError(`certificate ${cert.subjectText} carries none of ${m.id}'s node OUs (client, peer, admin, orderer)`);
  }
  if (m.admins.some((a) => equal(a.der, cert.der))) roles.add('admin');
  return roles;
}
