/**
 * Fabric policy evaluation over identities whose signatures were already verified: signature
 * policies (n-of-m over MSP role principals or named identities, each identity used at most once,
 * as Fabric's cauthdsl does) and implicit-meta policies over the config tree (ANY, ALL, MAJORITY of
 * the sub-groups' named policy). Named identities are what SmartBFT's block validation policy
 * lists: a quorum of the consenters' own certificates.
 */

import { equal, fromUtf8, pemToDer } from './bytes.js';
import type { ChannelConfig, ConfigNode, Role, ValidIdentity } from './msp.js';
import { common, msp } from './protos.js';
import { parseCertificate } from './x509.js';

const ROLE_NAMES: Record<number, Role> = { 0: 'member', 1: 'admin', 2: 'client', 3: 'peer', 4: 'orderer' };
const POLICY_TYPE = { SIGNATURE: 1, IMPLICIT_META: 3 } as const;
const PRINCIPAL = { ROLE: 0, IDENTITY: 2 } as const;

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

type Principal = { mspId: string; role: Role } | { mspId: string; certDer: Uint8Array; name: string };
type Rule = { signedBy: number } | { n: number; rules: Rule[] };

export interface SignaturePolicy {
  principals: Principal[];
  rule: Rule;
  text: string;
}

function ruleOf(p: InstanceType<typeof common.SignaturePolicy>): Rule {
  const nOf = p.getNOutOf();
  if (nOf) return { n: nOf.getN(), rules: nOf.getRulesList().map(ruleOf) };
  return { signedBy: p.getSignedBy() };
}

function textOf(rule: Rule, principals: Principal[]): string {
  if ('signedBy' in rule) {
    const p = principals[rule.signedBy];
    if (!p) return `'#${rule.signedBy}'`;
    return 'role' in p ? `'${p.mspId}.${p.role}'` : `'${p.mspId}:${p.name}'`;
  }
  const inner = rule.rules.map((r) => textOf(r, principals)).join(',');
  if (rule.n === rule.rules.length) return `AND(${inner})`;
  if (rule.n === 1) return `OR(${inner})`;
  return `OutOf(${rule.n},${inner})`;
}

export function parseSignaturePolicy(bytes: Uint8Array): SignaturePolicy {
  const env = common.SignaturePolicyEnvelope.deserializeBinary(bytes);
  const principals = env.getIdentitiesList().map((p): Principal => {
    if (p.getPrincipalClassification() === PRINCIPAL.IDENTITY) {
      const id = msp.SerializedIdentity.deserializeBinary(p.getPrincipal_asU8());
      try {
        const cert = parseCertificate(pemToDer(fromUtf8(id.getIdBytes_asU8())));
        return { mspId: id.getMspid(), certDer: cert.der, name: cert.subject.get('CN')?.[0] ?? cert.subjectText };
      } catch (e) {
        throw new PolicyError(`an identity principal of ${id.getMspid()} is not a readable certificate (${(e as Error).message})`);
      }
    }
    if (p.getPrincipalClassification() !== PRINCIPAL.ROLE)
      throw new PolicyError(`principal classification ${p.getPrincipalClassification()} is not supported (only MSP roles and identities)`);
    const role = msp.MSPRole.deserializeBinary(p.getPrincipal_asU8());
    const name = ROLE_NAMES[role.getRole()];
    if (!name) throw new PolicyError(`MSP role ${role.getRole()} is unknown`);
    return { mspId: role.getMspIdentifier(), role: name };
  });
  const r = env.getRule();
  if (!r) throw new PolicyError('signature policy has no rule');
  const rule = ruleOf(r);
  return { principals, rule, text: textOf(rule, principals) };
}

function satisfies(id: ValidIdentity, p: Principal): boolean {
  if (id.mspId !== p.mspId) return false;
  return 'role' in p ? id.roles.has(p.role) : equal(id.cert.der, p.certDer);
}

function evaluate(rule: Rule, principals: Principal[], ids: ValidIdentity[], used: boolean[]): boolean {
  if ('signedBy' in rule) {
    const p = principals[rule.signedBy];
    if (!p) return false;
    const i = ids.findIndex((id, k) => !used[k] && satisfies(id, p));
    if (i < 0) return false;
    used[i] = true;
    return true;
  }
  let verified = 0;
  for (const sub of rule.rules) {
    const trial = [...used];
    if (evaluate(sub, principals, ids, trial)) {
      verified++;
      for (const [k, u] of trial.entries()) used[k] = u;
    }
  }
  return verified >= rule.n;
}

export function evaluateSignaturePolicy(policy: SignaturePolicy, ids: ValidIdentity[]): boolean {
  return evaluate(
    policy.rule,
    policy.principals,
    ids,
    ids.map(() => false),
  );
}

/** Evaluates a policy of the channel config by path, e.g. `/Channel/Orderer/BlockValidation`. */
export function evaluateConfigPolicy(config: ChannelConfig, path: string, ids: ValidIdentity[]): { ok: boolean; text: string } {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'Channel') throw new PolicyError(`policy path ${path} does not start at /Channel`);
  let group: ConfigNode | undefined = config.root;
  for (const name of parts.slice(1, -1)) group = group?.groups.get(name);
  const policyName = parts[parts.length - 1]!;
  if (!group) throw new PolicyError(`config block ${config.blockNumber} has no group for ${path}`);
  return evaluateAt(group, policyName, ids, path, config.blockNumber);
}

function evaluateAt(group: ConfigNode, name: string, ids: ValidIdentity[], path: string, blockNumber: number): { ok: boolean; text: string } {
  const policy = group.policies.get(name);
  if (!policy) throw new PolicyError(`config block ${blockNumber} has no policy ${path}`);
  if (policy.type === POLICY_TYPE.SIGNATURE) {
    const sp = parseSignaturePolicy(policy.value);
    return { ok: evaluateSignaturePolicy(sp, ids), text: sp.text };
  }
  if (policy.type === POLICY_TYPE.IMPLICIT_META) {
    const meta = common.ImplicitMetaPolicy.deserializeBinary(policy.value);
    const sub = meta.getSubPolicy();
    const results = [...group.groups.entries()].map(([g, n]) => ({ g, ...evaluateAt(n, sub, ids, `${path}/${g}/${sub}`, blockNumber) }));
    const passed = results.filter((r) => r.ok).length;
    const rule = meta.getRule();
    const needed = rule === 0 ? 1 : rule === 1 ? results.length : Math.floor(results.length / 2) + 1;
    const ruleName = rule === 0 ? 'ANY' : rule === 1 ? 'ALL' : 'MAJORITY';
    return { ok: passed >= needed, text: `${ruleName} ${sub} [${results.map((r) => `${r.g}: ${r.text}`).join('; ')}]` };
  }
  throw new PolicyError(`policy type ${policy.type} at ${path} is not supported`);
}
