/**
 * Verifies a proof bundle against one trusted fact (a block hash, or a config block) and reports
 * every check with its reason. Nothing here reaches a network, a file or a clock: the bundle and
 * the trust anchor are all it needs, so it runs the same in Node and in a browser.
 */

import { type BlobSource, openTarBlob } from './blob-files.js';
import { type BlockHeader, type DecodedBlock, dataHash, decodeBlock, HEADER_TYPE, headerHash, type TransactionEntry } from './block.js';
import { type Bundle, BundleFormatError, bundleOfFiles, type HeaderEntry, type ManifestRecord } from './bundle.js';
import { equal, fromHex, fromUtf8, toHex } from './bytes.js';
import { digestsOf, type FileContent } from './content.js';
import { verifyEcdsa } from './ecdsa.js';
import { checkGradingSignature, checkReadingSignature, getAddress, recoverAlarmSigner } from './eip712.js';
import { type ChannelConfig, channelConfig, type ValidIdentity, validateIdentity } from './msp.js';
import { evaluateConfigPolicy, evaluateSignaturePolicy, parseSignaturePolicy } from './policy.js';
import { lifecycle, peer } from './protos.js';
import { readTar } from './tar.js';

export type Trust = { blockHash: string } | { configBlock: Uint8Array };

export interface Check {
  /** Stable identifier, e.g. `block.12.ordererSignature`, `tx.<id>.creator`. */
  id: string;
  status: 'pass' | 'fail' | 'skipped';
  detail: string;
}

export interface Report {
  ok: boolean;
  checks: Check[];
  /** The first failed check's id and reason, for one-line output. */
  firstFailure: Check | null;
  signaturesVerified: number;
}

/** Exit codes of the CLI: every check passed, a check failed, or the bundle or arguments are unusable. */
export const EXIT = { OK: 0, FAILED: 1, UNUSABLE: 2 } as const;

const VALID = 0;
/** Fabric's TxValidationCode for a later copy of a transaction id already on the ledger. */
const DUPLICATE_TXID = 9;
const CHAINCODE_DEFINITION = /^namespaces\/fields\/([^/]+)\/ValidationInfo$/;

interface Located {
  block: DecodedBlock;
  tx: TransactionEntry;
}

interface Definition {
  chaincode: string;
  at: [number, number];
  txId: string;
  policy: { kind: 'signature'; bytes: Uint8Array } | { kind: 'reference'; path: string };
}

/** Namespace → key → each transaction that set the key's endorsement policy: block, index, whether valid. */
type KeyPolicySets = Map<string, Map<string, { block: number; index: number; valid: boolean; policy: Uint8Array; txId: string }[]>>;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(fromUtf8(bytes));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const before = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

class Verification {
  readonly checks: Check[] = [];
  signatures = 0;
  private readonly verifiedTx = new Map<string, boolean>();
  private readonly byTxId = new Map<string, Located>();
  /** Later occurrences of a transaction id in the bundle's blocks, in ledger order. */
  private readonly copies = new Map<string, Located[]>();
  private readonly configs = new Map<number, ChannelConfig>();
  private readonly definitions: Definition[] = [];
  private readonly chain = new Map<number, BlockHeader>();
  /** The headers.json entry each header of the chain was read from (its parse and hash may be shared). */
  private readonly entries = new Map<number, HeaderEntry>();
  private readonly blocks = new Map<number, DecodedBlock>();
  /** Key-level policies set in the bundle's blocks (keyPolicySets), built on first use. */
  private keyPolicyIndex: KeyPolicySets | undefined;

  constructor(
    private readonly bundle: Bundle,
    private readonly shared?: SharedDecoding,
  ) {}

  private decode(bytes: Uint8Array): DecodedBlock {
    let block = this.shared?.blocks.get(bytes);
    if (!block) {
      block = decodeBlock(bytes);
      this.shared?.blocks.set(bytes, block);
    }
    return block;
  }

  /** The header hash of block n of the chain (the same entry of a shared headers.json hashes once). */
  private async chainHash(n: number): Promise<Uint8Array> {
    const entry = this.entries.get(n);
    const known = entry && this.shared?.headers.get(entry);
    if (known?.hash) return known.hash;
    const hash = await headerHash(this.chain.get(n)!);
    if (known) known.hash = hash;
    return hash;
  }

  add(id: string, ok: boolean, detail: string): boolean {
    this.checks.push({ id, status: ok ? 'pass' : 'fail', detail });
    return ok;
  }

  skip(id: string, detail: string): void {
    this.checks.push({ id, status: 'skipped', detail });
  }

  async run(trust: Trust): Promise<void> {
    const m = this.bundle.manifest;
    for (const [n, bytes] of this.bundle.blocks) {
      try {
        const block = this.decode(bytes);
        if (block.header.number !== n) throw new Error(`blocks/${n}.block holds block ${block.header.number}`);
        this.blocks.set(n, block);
      } catch (e) {
        this.add(`block.${n}.decode`, false, `blocks/${n}.block is not a readable Fabric block (${(e as Error).message})`);
      }
    }
    const inLedgerOrder = [...this.blocks].sort(([a], [b]) => a - b);
    // A transaction id names its first occurrence in ledger order: Fabric marks every later copy of
    // the same envelope DUPLICATE_TXID and applies none of its writes, and any client may send a copy.
    for (const [, block] of inLedgerOrder) {
      for (const tx of block.transactions) {
        if (!tx.txId) continue;
        if (!this.byTxId.has(tx.txId)) this.byTxId.set(tx.txId, { block, tx });
        else this.copies.set(tx.txId, [...(this.copies.get(tx.txId) ?? []), { block, tx }]);
      }
    }
    if (await this.headerChain()) await this.trustAnchor(trust);
    // The checks below run even when the chain or the trust anchor failed, so that the report names
    // every defect of a forged bundle; such a bundle is not verified whatever they say.
    for (const [n, block] of inLedgerOrder) await this.blockChecks(n, block);
    for (const block of this.blocks.values()) for (const tx of block.transactions) this.collectDefinition(block, tx);
    // Definitions first: every chaincode transaction's policy check relies on its definition being genuine.
    for (const d of this.definitions) await this.transaction(d.txId);
    const wanted = new Set([...m.transactions.map((t) => t.txId), ...m.records.map((r) => r.txId)]);
    for (const txId of wanted) await this.transaction(txId);
    for (const record of m.records) this.record(record);
    await this.evidence();
    this.alarms(wanted);
  }

  private async headerChain(): Promise<boolean> {
    const m = this.bundle.manifest;
    try {
      for (const h of this.bundle.headers) {
        let header = this.shared?.headers.get(h)?.header;
        if (!header) {
          header = { number: h.number, previousHash: fromHex(h.previousHash), dataHash: fromHex(h.dataHash) };
          this.shared?.headers.set(h, { header });
        }
        this.chain.set(h.number, header);
        this.entries.set(h.number, h);
      }
    } catch (e) {
      return this.add('chain.headers', false, `headers.json is malformed (${(e as Error).message})`);
    }
    const low = Math.min(...this.blocks.keys(), m.checkpoint.number);
    for (let n = low; n <= m.checkpoint.number; n++) {
      if (!this.chain.has(n))
        return this.add(
          'chain.headers',
          false,
          `headers.json has no header for block ${n}, so block ${low} cannot be linked to checkpoint block ${m.checkpoint.number}`,
        );
    }
    for (let n = low + 1; n <= m.checkpoint.number; n++) {
      const expected = await this.chainHash(n - 1);
      if (!equal(this.chain.get(n)!.previousHash, expected)) {
        return this.add(
          'chain.headers',
          false,
          `hash chain broken at block ${n}: its previous_hash is ${toHex(this.chain.get(n)!.previousHash)} but ` +
            `block ${n - 1}'s header hashes to ${toHex(expected)}`,
        );
      }
    }
    return this.add('chain.headers', true, `blocks ${low}..${m.checkpoint.number} form one hash chain`);
  }

  private async trustAnchor(trust: Trust): Promise<boolean> {
    const m = this.bundle.manifest;
    const top = await this.chainHash(m.checkpoint.number);
    if ('blockHash' in trust) {
      const pinned = trust.blockHash.toLowerCase().replace(/^0x/, '');
      return this.add(
        'chain.trust',
        toHex(top) === pinned,
        toHex(top) === pinned
          ? `checkpoint block ${m.checkpoint.number} hashes to the trusted ${pinned}`
          : `the chain ends at block ${m.checkpoint.number} with hash ${toHex(top)}, not the trusted ${pinned}`,
      );
    }
    let trusted: DecodedBlock;
    try {
      trusted = decodeBlock(trust.configBlock);
    } catch (e) {
      return this.add('chain.trust', false, `the trusted config block is not a readable block (${(e as Error).message})`);
    }
    const n = trusted.header.number;
    const onChain = this.chain.get(n);
    if (!onChain || !equal(await headerHash(onChain), await headerHash(trusted.header))) {
      return this.add('chain.trust', false, `the trusted config block ${n} is not on the bundle's hash chain`);
    }
    if (!trusted.transactions.some((t) => t.config) || !equal(await dataHash(trusted.data), trusted.header.dataHash)) {
      return this.add('chain.trust', false, `the trusted block ${n} is not a config block with intact data`);
    }
    const checkpoint = this.blocks.get(m.checkpoint.number);
    if (!checkpoint)
      return this.add('chain.trust', false, `trusting a config block needs the checkpoint block ${m.checkpoint.number} in full, and the bundle lacks it`);
    const config = channelConfig(n, trusted.transactions.find((t) => t.config)!.config!);
    const signed = await this.ordererSignature(checkpoint, config);
    return this.add(
      'chain.trust',
      signed.ok,
      signed.ok
        ? `checkpoint block ${m.checkpoint.number} is signed by the orderer of the trusted config block ${n}, which is on its hash chain`
        : `checkpoint block ${m.checkpoint.number} is not signed by the orderer of the trusted config block ${n}: ${signed.detail}`,
    );
  }

  private configFor(block: DecodedBlock): ChannelConfig | string {
    const n = block.lastConfigIndex;
    if (n === null) return `block ${block.header.number} names no last config block`;
    const cached = this.configs.get(n);
    if (cached) return cached;
    const configBlock = this.blocks.get(n);
    const configTx = configBlock?.transactions.find((t) => t.config);
    if (!configBlock || !configTx?.config) return `config block ${n}, in force for block ${block.header.number}, is not in the bundle`;
    try {
      const config = channelConfig(n, configTx.config);
      this.configs.set(n, config);
      return config;
    } catch (e) {
      return `config block ${n} cannot be read (${(e as Error).message})`;
    }
  }

  private async ordererSignature(block: DecodedBlock, config: ChannelConfig): Promise<{ ok: boolean; detail: string }> {
    const r = await verifyOrdererSignature(ordererSignedBlock(block), config);
    this.signatures += r.signaturesChecked;
    return r;
  }

  private async blockChecks(n: number, block: DecodedBlock): Promise<void> {
    const h = this.chain.get(n);
    const sameHeader = !!h && equal(h.previousHash, block.header.previousHash) && equal(h.dataHash, block.header.dataHash);
    this.add(
      `block.${n}.header`,
      sameHeader,
      sameHeader
        ? 'the block header is the one on the hash chain'
        : h
          ? `block ${n}'s header differs from the header on the hash chain`
          : `block ${n} is outside the hash chain`,
    );
    const computed = await dataHash(block.data);
    const dataOk = equal(computed, block.header.dataHash);
    this.add(
      `block.${n}.dataHash`,
      dataOk,
      dataOk ? 'data_hash matches the block data' : `data_hash ${toHex(block.header.dataHash)} but the data hashes to ${toHex(computed)}`,
    );
    if (n === 0 && block.ordererSignatures.length === 0 && block.transactions[0]?.config) {
      this.add('block.0.ordererSignature', true, 'the genesis block is not signed; it is trusted through the hash chain');
      return;
    }
    const config = this.configFor(block);
    if (typeof config === 'string') {
      this.add(`block.${n}.ordererSignature`, false, config);
      return;
    }
    const signed = await this.ordererSignature(block, config);
    this.add(`block.${n}.ordererSignature`, signed.ok, signed.detail);
  }

  private collectDefinition(block: DecodedBlock, tx: TransactionEntry): void {
    if (tx.headerType !== HEADER_TYPE.ENDORSER_TRANSACTION || block.validationCodes[tx.index] !== VALID) return;
    for (const w of tx.writes) {
      const match = w.namespace === '_lifecycle' ? CHAINCODE_DEFINITION.exec(w.key) : null;
      if (!match || w.isDelete) continue;
      const data = lifecycle.StateData.deserializeBinary(w.value).getBytes_asU8();
      const info = lifecycle.ChaincodeValidationInfo.deserializeBinary(data);
      const app = peer.ApplicationPolicy.deserializeBinary(info.getValidationParameter_asU8());
      const signaturePolicy = app.getSignaturePolicy();
      this.definitions.push({
        chaincode: match[1]!,
        at: [block.header.number, tx.index],
        txId: tx.txId,
        policy: signaturePolicy
          ? { kind: 'signature', bytes: signaturePolicy.serializeBinary() }
          : { kind: 'reference', path: app.getChannelConfigPolicyReference() },
      });
    }
  }

  private async transaction(txId: string): Promise<boolean> {
    const done = this.verifiedTx.get(txId);
    if (done !== undefined) return done;
    this.verifiedTx.set(txId, false);
    const found = this.byTxId.get(txId);
    if (!found) return this.add(`tx.${txId}`, false, `transaction ${txId} is in none of the bundle's blocks`);
    const { block, tx } = found;
    const n = block.header.number;
    let ok = true;
    const code = block.validationCodes[tx.index];
    ok =
      this.add(
        `tx.${txId}.validation`,
        code === VALID,
        code === VALID
          ? `VALID in block ${n} at index ${tx.index}`
          : `the block's transaction filter marks it ${code === undefined ? 'absent' : `invalid (code ${code})`}`,
      ) && ok;
    const copies = this.copies.get(txId) ?? [];
    if (copies.length > 0) {
      // A copy marked anything but DUPLICATE_TXID would let one signed envelope count twice.
      const wrong = copies.filter((c) => c.block.validationCodes[c.tx.index] !== DUPLICATE_TXID);
      const where = (c: Located) => `block ${c.block.header.number} index ${c.tx.index}`;
      ok =
        this.add(
          `tx.${txId}.copies`,
          wrong.length === 0,
          wrong.length === 0
            ? `${copies.length} later cop${copies.length === 1 ? 'y' : 'ies'} of it (${copies.map(where).join(', ')}) marked DUPLICATE_TXID, ` +
                'which changes nothing'
            : `later copies must be marked DUPLICATE_TXID (code ${DUPLICATE_TXID}); ` +
                wrong.map((c) => `${where(c)} is marked code ${c.block.validationCodes[c.tx.index]}`).join(', '),
        ) && ok;
    }
    if (tx.parseError) ok = this.add(`tx.${txId}.payload`, false, `the transaction payload cannot be read (${tx.parseError})`) && ok;
    if (tx.headerType !== HEADER_TYPE.ENDORSER_TRANSACTION)
      return this.add(`tx.${txId}.type`, false, `header type ${tx.headerType} is not an endorser transaction`);
    const config = this.configFor(block);
    if (typeof config === 'string') return this.add(`tx.${txId}.config`, false, config);
    try {
      const creator = await validateIdentity(tx.creator, tx.timestampMs, config);
      this.signatures++;
      const sigOk = await verifyEcdsa(creator.cert.spki, creator.cert.curve, 'SHA-256', tx.envelopeSignature, tx.payload, true);
      ok =
        this.add(
          `tx.${txId}.creator`,
          sigOk,
          sigOk
            ? `signed by ${creator.cert.subjectText} (${creator.mspId})`
            : `the creator signature of ${creator.cert.subjectText} (${creator.mspId}) does not match the transaction payload`,
        ) && ok;
    } catch (e) {
      ok = this.add(`tx.${txId}.creator`, false, `creator: ${(e as Error).message}`) && ok;
    }
    const endorsers: ValidIdentity[] = [];
    for (const [i, e] of tx.endorsements.entries()) {
      try {
        const id = await validateIdentity(e.endorser, tx.timestampMs, config);
        this.signatures++;
        const sigOk = await verifyEcdsa(id.cert.spki, id.cert.curve, 'SHA-256', e.signature, e.signedBytes, true);
        if (sigOk) endorsers.push(id);
        ok =
          this.add(
            `tx.${txId}.endorsement.${i}`,
            sigOk,
            sigOk
              ? `endorsed by ${id.cert.subjectText} (${id.mspId})`
              : `the endorsement signature of ${id.cert.subjectText} (${id.mspId}) does not match the proposal response`,
          ) && ok;
      } catch (err) {
        ok = this.add(`tx.${txId}.endorsement.${i}`, false, `endorser ${e.endorser.mspId}: ${(err as Error).message}`) && ok;
      }
    }
    ok = this.policy(txId, n, tx, endorsers, config) && ok;
    this.verifiedTx.set(txId, ok);
    return ok;
  }

  /**
   * The endorsement policies Fabric's validator applies (statebased validator, builtin plugin): the
   * chaincode definition's policy for public writes and metadata writes in the chaincode's
   * namespace, and for a transaction that writes nothing; each written private data collection's
   * own policy for its writes. All must hold.
   */
  private policy(txId: string, n: number, tx: TransactionEntry, endorsers: ValidIdentity[], config: ChannelConfig): boolean {
    const id = `tx.${txId}.policy`;
    const by = endorsers.map((e) => `${e.mspId}.${[...e.roles].filter((r) => r !== 'member').join('+') || 'member'}`).join(', ') || 'nobody';
    try {
      if (tx.chaincode === '_lifecycle') {
        const r = evaluateConfigPolicy(config, '/Channel/Application/LifecycleEndorsement', endorsers);
        return this.add(
          id,
          r.ok,
          `${r.ok ? 'satisfied' : 'not satisfied'}: /Channel/Application/LifecycleEndorsement (${r.text}) by ` +
            `${endorsers.map((e) => e.mspId).join(', ') || 'no valid endorser'}`,
        );
      }
      const keyed = this.keyLevelPolicies(n, tx);
      if (typeof keyed === 'string') return this.add(id, false, keyed);
      const cc = tx.chaincode;
      const collections = [...new Set(tx.collectionWrites.filter((c) => c.namespace === cc).map((c) => c.collection))];
      const publicKeys = new Set([...tx.writes, ...tx.metadataWrites].filter((w) => w.namespace === cc).map((w) => w.key));
      const results: { ok: boolean; text: string }[] = [];
      if ([...publicKeys].some((k) => !keyed.has(k)) || (publicKeys.size === 0 && collections.length === 0)) {
        const r = this.chaincodePolicy(cc, [n, tx.index], endorsers, config);
        if (typeof r === 'string') return this.add(id, false, r);
        results.push(r);
      }
      for (const [k, p] of keyed) {
        const policy = parseSignaturePolicy(p.policy);
        results.push({
          ok: evaluateSignaturePolicy(policy, endorsers),
          text: `key-level policy of ${JSON.stringify(k)} (${policy.text}) set in tx ${p.setIn}`,
        });
      }
      for (const c of collections) results.push(collectionPolicy(c, endorsers, config));
      const ok = results.every((r) => r.ok);
      const text = results.map((r) => (results.length > 1 ? `${r.text} [${r.ok ? 'holds' : 'fails'}]` : r.text)).join('; ');
      return this.add(id, ok, `${ok ? 'satisfied' : 'not satisfied'}: ${text} by valid endorsements from ${by}`);
    } catch (e) {
      return this.add(id, false, (e as Error).message);
    }
  }

  /** The chaincode-wide policy from the latest verified definition before `at`, or why there is none. */
  private chaincodePolicy(cc: string | null, at: [number, number], endorsers: ValidIdentity[], config: ChannelConfig): { ok: boolean; text: string } | string {
    const definition = this.definitions.filter((d) => d.chaincode === cc && before(d.at, at)).at(-1);
    if (!definition)
      return `the bundle holds no definition of chaincode ${cc ?? '(none)'} committed before block ${at[0]}, so its endorsement policy is unknown`;
    if (!this.byTxId.get(definition.txId) || this.verifiedTx.get(definition.txId) !== true)
      return `the chaincode definition transaction ${definition.txId} is not verified`;
    if (definition.policy.kind === 'reference') {
      const r = evaluateConfigPolicy(config, definition.policy.path, endorsers);
      return { ok: r.ok, text: `${definition.policy.path} (${r.text}) from the definition in tx ${definition.txId}` };
    }
    const sp = parseSignaturePolicy(definition.policy.bytes);
    return { ok: evaluateSignaturePolicy(sp, endorsers), text: `${sp.text} (chaincode definition in tx ${definition.txId}, block ${definition.at[0]})` };
  }

  /**
   * Every key-level policy the bundle's blocks set, by namespace and key, built once: looking each
   * written key up in every block made a range bundle's check quadratic in its transactions.
   */
  private keyPolicySets(): KeyPolicySets {
    if (this.keyPolicyIndex) return this.keyPolicyIndex;
    const index: KeyPolicySets = new Map();
    for (const [bn, b] of this.blocks)
      for (const t of b.transactions)
        for (const k of t.keyPolicyWrites) {
          const byKey = index.get(k.namespace) ?? new Map();
          index.set(k.namespace, byKey);
          const sets = byKey.get(k.key) ?? [];
          byKey.set(k.key, sets);
          sets.push({ block: bn, index: t.index, valid: b.validationCodes[t.index] === 0, policy: k.policy, txId: t.txId });
        }
    this.keyPolicyIndex = index;
    return index;
  }

  /**
   * The key-level (state-based) policies in force for the public keys a transaction writes, as
   * Fabric's validator takes them: the policy the latest earlier valid transaction set on the key,
   * never one the transaction itself sets. A key the transaction read as absent had none. A key a
   * bundled transaction sets a policy on, whose policy at this transaction the bundle cannot show
   * (the setter is not in it), makes the check fail rather than guess. Keys no bundled transaction
   * gives a policy are held by the chaincode's policy, as before key-level policies existed.
   */
  private keyLevelPolicies(n: number, tx: TransactionEntry): Map<string, { policy: Uint8Array; setIn: string }> | string {
    const out = new Map<string, { policy: Uint8Array; setIn: string }>();
    const cc = tx.chaincode;
    const written = new Set([...tx.writes, ...tx.metadataWrites].filter((w) => w.namespace === cc).map((w) => w.key));
    const absent = new Set(tx.absentReads.filter((r) => r.namespace === cc).map((r) => r.key));
    const unknown: string[] = [];
    for (const key of written) {
      if (absent.has(key)) continue;
      let latest: { at: [number, number]; policy: Uint8Array; setIn: string } | undefined;
      const sets =
        this.keyPolicySets()
          .get(cc ?? '')
          ?.get(key) ?? [];
      for (const set of sets) {
        const earlier = set.block < n || (set.block === n && set.index < tx.index);
        if (!earlier || !set.valid) continue;
        if (!latest || set.block > latest.at[0] || (set.block === latest.at[0] && set.index > latest.at[1]))
          latest = { at: [set.block, set.index], policy: set.policy, setIn: set.txId };
      }
      if (latest) out.set(key, { policy: latest.policy, setIn: latest.setIn });
      else if (sets.length > 0) unknown.push(JSON.stringify(key));
    }
    if (unknown.length > 0)
      return `keys ${unknown.join(', ')} carry key-level endorsement policies, and the transaction that set the one in force here is not in the bundle`;
    return out;
  }

  private record(r: ManifestRecord): void {
    const id = `record.${r.txId}.${JSON.stringify(r.key)}`;
    const found = this.byTxId.get(r.txId);
    if (!found) return void this.add(id, false, `the record's transaction ${r.txId} is not in the bundle`);
    if (this.verifiedTx.get(r.txId) !== true) return void this.add(id, false, `the record's transaction ${r.txId} failed verification`);
    const write = found.tx.writes.filter((w) => w.namespace === this.bundle.manifest.chaincode && w.key === r.key).at(-1);
    if (!write) return void this.add(id, false, `transaction ${r.txId} wrote no key ${JSON.stringify(r.key)} in ${this.bundle.manifest.chaincode}`);
    let written: unknown;
    try {
      written = JSON.parse(fromUtf8(write.value));
    } catch {
      return void this.add(id, false, `the value transaction ${r.txId} wrote for ${JSON.stringify(r.key)} is not JSON`);
    }
    const same = canonical(written) === canonical(r.value);
    this.add(
      id,
      same,
      same
        ? `equals what transaction ${r.txId} wrote`
        : `differs from what transaction ${r.txId} wrote: the manifest shows ` +
            `${canonical(r.value).slice(0, 200)}, the write set holds ${canonical(written).slice(0, 200)}`,
    );
  }

  private verifiedRecords(docType: string): { record: ManifestRecord; value: Record<string, unknown>; at: [number, number] }[] {
    // One set of the passed checks, not a scan of every check per record: a month's range bundle holds
    // thousands of records and hundreds of thousands of checks.
    const passed = new Set(this.checks.filter((c) => c.status === 'pass').map((c) => c.id));
    return this.bundle.manifest.records
      .filter((r) => (r.value as { docType?: unknown })?.docType === docType && passed.has(`record.${r.txId}.${JSON.stringify(r.key)}`))
      .map((r) => {
        const f = this.byTxId.get(r.txId)!;
        return { record: r, value: r.value as Record<string, unknown>, at: [f.block.header.number, f.tx.index] as [number, number] };
      });
  }

  private async evidence(): Promise<void> {
    const seen = new Set<string>();
    for (const { value } of this.verifiedRecords('evidence')) {
      const cid = String(value.cid);
      if (seen.has(cid)) continue;
      seen.add(cid);
      const content = this.bundle.evidence.get(cid);
      if (!content) {
        this.skip(`evidence.${cid}`, 'the bundle carries the CID only, not the file: fetch it and check sha256 and CID');
        continue;
      }
      let got: Awaited<ReturnType<typeof digestsOf>>;
      try {
        got = await digestsOf(content, true);
      } catch (e) {
        this.add(`evidence.${cid}`, false, `the file cannot be read: ${(e as Error).message}`);
        continue;
      }
      const problems = [
        got.sha256 !== value.sha256 ? `sha256 is ${got.sha256}, the ledger recorded ${String(value.sha256)}` : '',
        got.sizeBytes !== value.sizeBytes ? `size is ${got.sizeBytes} bytes, the ledger recorded ${String(value.sizeBytes)}` : '',
        got.cid !== cid ? `the bytes have CID ${got.cid}, the ledger recorded ${cid}` : '',
      ].filter(Boolean);
      this.add(
        `evidence.${cid}`,
        problems.length === 0,
        problems.length === 0 ? `${got.sizeBytes} bytes match the recorded sha256 and CID` : problems.join('; '),
      );
    }
  }

  /**
   * Device signatures are checked on the alarm records as the transactions wrote them (the write
   * sets), not as the manifest shows them: a tampered signature is then reported here whether it
   * was changed in the manifest only (which `record.*` reports; the write set still verifies) or
   * inside a write set (a forged chain, which also fails the block and endorsement checks). The
   * device's key is the latest `device` record written by a verified transaction before the alarm.
   */
  private alarms(txIds: Set<string>): void {
    const cc = this.bundle.manifest.chaincode;
    const devices: { deviceId: unknown; address: unknown; kind: unknown; signsReadings: unknown; at: [number, number]; txId: string }[] = [];
    const alarms: { value: Record<string, unknown>; at: [number, number]; txId: string }[] = [];
    for (const txId of txIds) {
      const found = this.byTxId.get(txId);
      if (!found) continue;
      const at: [number, number] = [found.block.header.number, found.tx.index];
      for (const w of found.tx.writes) {
        if (w.namespace !== cc || w.isDelete) continue;
        const value = jsonObject(w.value);
        if (value?.docType === 'device' && this.verifiedTx.get(txId) === true) {
          devices.push({ deviceId: value.deviceId, address: value.address, kind: value.kind, signsReadings: value.signsReadings, at, txId });
        }
        if (value?.docType === 'alarm') alarms.push({ value, at, txId });
      }
    }
    const seen = new Set<string>();
    for (const { value, at, txId } of alarms.sort((x, y) => (before(x.at, y.at) ? -1 : 1))) {
      const key = `${String(value.alarmId)}|${String(value.signature)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const id = `alarm.${String(value.alarmId)}.deviceSignature`;
      const unverified = this.verifiedTx.get(txId) === true ? '' : `; note: its transaction ${txId} failed verification (tx.${txId}.*)`;
      const registrationOf = (deviceId: unknown) => {
        const r = devices.filter((d) => d.deviceId === deviceId && before(d.at, at)).at(-1);
        return r ? { address: String(r.address), kind: r.kind, signsReadings: r.signsReadings, txId: r.txId } : undefined;
      };
      if (value.signatureVersion === 2) {
        // Raised by ingest, which holds no device key: the device signed the reading, ingest the grading.
        const device = registrationOf(value.deviceId);
        const reading = device
          ? checkReadingSignature(value, device)
          : { ok: false, detail: `the bundle holds no verified ledger registration of device ${String(value.deviceId)} before the alarm` };
        this.add(id, reading.ok, `${reading.detail}${unverified}`);
        const grading = checkGradingSignature(value, registrationOf(value.serviceId));
        this.add(`alarm.${String(value.alarmId)}.serviceSignature`, grading.ok, `${grading.detail}${unverified}`);
        continue;
      }
      let signer: string;
      try {
        signer = recoverAlarmSigner(value, String(value.signature));
      } catch (e) {
        this.add(id, false, `the EIP-712 signature written by tx ${txId} cannot be recovered (${(e as Error).message.split('(')[0]!.trim()})${unverified}`);
        continue;
      }
      const registration = devices.filter((d) => d.deviceId === value.deviceId && before(d.at, at)).at(-1);
      if (!registration) {
        this.add(
          id,
          false,
          `signed by ${signer}, but the bundle holds no verified ledger registration of device ${String(value.deviceId)} before the alarm${unverified}`,
        );
        continue;
      }
      let registered: string;
      try {
        registered = getAddress(String(registration.address));
      } catch {
        this.add(
          id,
          false,
          `device ${String(value.deviceId)} is registered (tx ${registration.txId}) with ${String(registration.address)}, which is not an address${unverified}`,
        );
        continue;
      }
      const device = String(value.deviceId);
      const verdict =
        signer === registered
          ? `signed by ${signer}, the key registered for device ${device} in tx ${registration.txId}`
          : `signed by ${signer}, but device ${device} is registered with ${registered} (tx ${registration.txId})`;
      this.add(id, signer === registered, `${verdict}${unverified}`);
    }
  }
}

const IMPLICIT_COLLECTION = /^_implicit_org_(.+)$/;

/**
 * An implicit collection `_implicit_org_<MSP id>` is endorsed under the owning org's
 * `/Channel/Application/<org>/Endorsement` policy, or by any member of that org when the config
 * defines none (Fabric's lifecycle ImplicitCollectionEndorsementPolicyAsBytes). Explicit
 * collections' policies live in the chaincode definition's collection config, which this version
 * does not read: they fail with that reason.
 */
function collectionPolicy(collection: string, endorsers: ValidIdentity[], config: ChannelConfig): { ok: boolean; text: string } {
  const implicit = IMPLICIT_COLLECTION.exec(collection);
  if (!implicit) return { ok: false, text: `collection ${collection}: explicit collection endorsement policies are not evaluated by this version` };
  const mspId = implicit[1]!;
  const application = config.root.groups.get('Application');
  const org = [...(application?.groups ?? new Map<string, never>())].find(([, g]) => g.msp?.id === mspId);
  if (!org) return { ok: false, text: `collection ${collection}: ${mspId} is not an application org of config block ${config.blockNumber}` };
  const [orgName, group] = org;
  if (group.policies.has('Endorsement')) {
    const r = evaluateConfigPolicy(config, `/Channel/Application/${orgName}/Endorsement`, endorsers);
    return { ok: r.ok, text: `/Channel/Application/${orgName}/Endorsement (${r.text}) for implicit collection ${collection}` };
  }
  return { ok: endorsers.some((e) => e.mspId === mspId), text: `'${mspId}.member' (the default for implicit collection ${collection})` };
}

/**
 * What the orderer-signature check reads of a block: its signatures, and its transactions' times
 * with whether the block's transaction filter marks each valid.
 */
export type OrdererSignedBlock = Pick<DecodedBlock, 'ordererSignatures'> & { transactions: readonly { timestampMs: number; valid: boolean }[] };

/** A decoded block as the orderer-signature check reads it. */
export function ordererSignedBlock(block: DecodedBlock): OrdererSignedBlock {
  return {
    ordererSignatures: block.ordererSignatures,
    transactions: block.transactions.map((t) => ({ timestampMs: t.timestampMs, valid: block.validationCodes[t.index] === VALID })),
  };
}

/**
 * The instant a block's orderer signature is judged at: its newest valid transaction's time. A
 * valid transaction's time is close to the peers' clocks (the chaincode refuses a proposal more
 * than two minutes off; config and lifecycle transactions are the orderer's and the admins'). An
 * invalid one's is whatever its creator wrote, and anyone allowed to broadcast gets a forged
 * envelope into a block: dated in 2100, it would make every orderer certificate look expired and
 * stop the mirror and every bundle holding that block. A block without a valid transaction
 * changes no state; it is judged at no instant (null), as Fabric's MSP judges identities.
 */
function blockTime(block: OrdererSignedBlock): number | null {
  const valid = block.transactions.filter((t) => t.valid).map((t) => t.timestampMs);
  return valid.length ? Math.max(...valid) : null;
}

/**
 * Whether a block carries orderer signatures that satisfy `/Channel/Orderer/BlockValidation` of the
 * config in force (`block.lastConfigIndex`; the caller supplies that config). Each signer must be
 * an orderer-org identity valid at the block's newest transaction time, and its ECDSA signature
 * (low S) must cover `metadata value ‖ signature header ‖ header bytes`. Used by the bundle
 * verification and by the indexer for every block it follows.
 */
export async function verifyOrdererSignature(
  block: OrdererSignedBlock,
  config: ChannelConfig,
): Promise<{ ok: boolean; detail: string; signaturesChecked: number }> {
  if (block.ordererSignatures.length === 0) return { ok: false, detail: 'it carries no orderer signature', signaturesChecked: 0 };
  const signers: ValidIdentity[] = [];
  const reasons: string[] = [];
  let signaturesChecked = 0;
  for (const s of block.ordererSignatures) {
    const signer = s.signer ?? (s.consenterId === null ? undefined : config.consenters.get(s.consenterId));
    if (!signer) {
      reasons.push(
        s.consenterId === null
          ? 'a signature names no signer'
          : `a signature names consenter ${s.consenterId}, which config block ${config.blockNumber} does not have`,
      );
      continue;
    }
    try {
      const id = await validateIdentity(signer, blockTime(block), config);
      signaturesChecked++;
      if (!(await verifyEcdsa(id.cert.spki, id.cert.curve, 'SHA-256', s.signature, s.signedBytes, true)))
        reasons.push(`the signature of ${id.cert.subjectText} (${id.mspId}) does not match the block`);
      // A signer counts once, however often it signed: a quorum is of distinct consenters.
      else if (!signers.some((o) => equal(o.cert.der, id.cert.der))) signers.push(id);
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  if (config.consenters.size > 0) {
    const who = signers.length ? ` (${signers.map((s) => s.cert.subjectText).join(', ')})` : '';
    reasons.unshift(`valid signatures of ${signers.length} distinct consenter${signers.length === 1 ? '' : 's'} of ${config.consenters.size}${who}`);
  }
  const policy = evaluateConfigPolicy(config, '/Channel/Orderer/BlockValidation', signers);
  if (policy.ok)
    return {
      ok: true,
      detail:
        `signed by ${signers.map((s) => `${s.cert.subjectText} (${s.mspId})`).join(', ')}; ` +
        `/Channel/Orderer/BlockValidation (${policy.text}) satisfied with config block ${config.blockNumber}`,
      signaturesChecked,
    };
  return {
    ok: false,
    detail:
      `/Channel/Orderer/BlockValidation (${policy.text}) of config block ${config.blockNumber} is not ` +
      `satisfied${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
    signaturesChecked,
  };
}

export async function verifyBundle(archive: Uint8Array, trust: Trust): Promise<Report> {
  let files: Map<string, Uint8Array>;
  try {
    files = readTar(archive);
  } catch (e) {
    return unreadableBundle(e);
  }
  return verifyBundleFiles(files, trust);
}

/** A bundle given as its files by path, as the CLI reads a tar on disk (evidence not loaded). */
export async function verifyBundleFiles(files: Map<string, FileContent>, trust: Trust): Promise<Report> {
  let bundle: Bundle;
  try {
    bundle = bundleOfFiles(files);
  } catch (e) {
    return unreadableBundle(e);
  }
  return verifyBundleContents(bundle, trust);
}

/**
 * A bundle held as a Blob (a browser's download), read by slices: its evidence is hashed in pieces,
 * never copied whole, so a bundle with gigabytes of video is checked in a page (blob-files.ts).
 */
export async function verifyBundleBlob(blob: BlobSource, trust: Trust): Promise<Report> {
  return (await verifyBundleBlobFiles(blob, trust)).report;
}

/**
 * verifyBundleBlob, with the files it checked (undefined when the tar cannot be read): a page that
 * shows the evidence shows it from the same slices the checks hashed, the bundle opened once.
 */
export async function verifyBundleBlobFiles(blob: BlobSource, trust: Trust): Promise<{ report: Report; files?: Map<string, FileContent> }> {
  let files: Map<string, FileContent>;
  try {
    files = await openTarBlob(blob);
  } catch (e) {
    return { report: unreadableBundle(e) };
  }
  return { report: await verifyBundleFiles(files, trust), files };
}

/** The report on a bundle that cannot be read: one failed `bundle.format` check. */
export function unreadableBundle(e: unknown): Report {
  const check: Check = {
    id: 'bundle.format',
    status: 'fail',
    detail: e instanceof BundleFormatError ? e.message : `the bundle cannot be read (${(e as Error).message})`,
  };
  return { ok: false, checks: [check], firstFailure: check, signaturesVerified: 0 };
}

/**
 * What the bundles of one archive may share while each is checked in full: the decoding of the
 * same block bytes, and the parse and hash of the same headers.json entry (pure functions of the
 * same bytes). Every check, the hash chain's links and the signatures included, still runs for
 * each bundle.
 */
export interface SharedDecoding {
  blocks: WeakMap<Uint8Array, DecodedBlock>;
  headers: WeakMap<HeaderEntry, { header: BlockHeader; hash?: Uint8Array }>;
}

/**
 * The same checks on a bundle already read: an archive of version 2 assembles each bundle from
 * its own manifest and the blocks, headers and evidence files the archive holds once.
 */
export async function verifyBundleContents(bundle: Bundle, trust: Trust, shared?: SharedDecoding): Promise<Report> {
  const v = new Verification(bundle, shared);
  v.add(
    'bundle.format',
    true,
    `${bundle.manifest.format} version ${bundle.manifest.version}, channel ${bundle.manifest.channel}, chaincode ${bundle.manifest.chaincode}`,
  );
  try {
    await v.run(trust);
  } catch (e) {
    v.add('verifier.internal', false, `verification stopped: ${(e as Error).message}`);
  }
  const firstFailure = v.checks.find((c) => c.status === 'fail') ?? null;
  return { ok: firstFailure === null, checks: v.checks, firstFailure, signaturesVerified: v.signatures };
}
