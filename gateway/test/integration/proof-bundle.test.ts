/**
 * Proof bundles on the real network: a hot-work permit from application to close, with a
 * device-signed alarm that suspends it and an evidence file, exported as a bundle and verified
 * offline against the pinned checkpoint hash; then one-byte and structural tampers, each of which
 * must fail with its own check and reason.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import {
  decodeBlock,
  type HeaderEntry,
  headerHash,
  type Manifest,
  type Report,
  readTar,
  toHex,
  verifyBundle,
  verifyBundleBlob,
  writeTar,
} from '@compliance-ledger/verifier';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';

const rwset = ledger.rwset;
const kvrwset = ledger.rwset.kvrwset;

// The indexer's tests stop the indexer on the same forged signature; one forger serves both.
import { selfSignedCertificate } from '../../../fabric-client/test/support/self-signed.js';
import { resignWithRogueKey } from '../../../indexer/test/support/rogue-orderer.js';
import { type BlockSummary, buildBundle } from '../../src/bundle-builder.js';
import type { RunningGateway } from '../../src/server.js';
import { regulatorBlockSource, regulatorHeaderHash, waitForRegulatorBlock } from '../support/blocks.js';
import { launchChromium, verifierForBrowsers } from '../support/browser.js';
import { connectAsWalletUser } from '../support/direct.js';
import { Client, createDatabase, dropDatabase, profilePath, requireNetwork, scratchDir, startTestGateway } from '../support/env.js';
import { type Cast, iso, makeCast, recordCameraAlarm, registerCast, startPermit, uniqueId, uploadEvidence } from '../support/scenario.js';
import { spoolLeft } from '../support/spool.js';
import { JPEG_HEAD } from '../support/tus.js';

type Files = Map<string, Uint8Array>;
const enc = new TextEncoder();

function failed(report: Report): { id: string; detail: string }[] {
  return report.checks.filter((c) => c.status === 'fail').map(({ id, detail }) => ({ id, detail }));
}

function rewrap(files: Files, change: (f: Files) => void): Uint8Array {
  const copy: Files = new Map([...files].map(([k, v]) => [k, new Uint8Array(v)]));
  change(copy);
  return writeTar(copy);
}

function manifestOf(files: Files): Manifest {
  return JSON.parse(new TextDecoder().decode(files.get('manifest.json')!)) as Manifest;
}

describe('proof bundle: a permit trail verified offline (real network)', function () {
  this.timeout(240_000);
  let gw: RunningGateway;
  let cast: Cast;
  let permitNo: string;
  let archive: Uint8Array;
  let files: Files;
  let manifest: Manifest;
  let trusted: string;
  const alarmId = `al-${crypto.randomBytes(4).toString('hex')}`;
  let evidenceCid: string;
  let db: string | undefined;

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_bundle');
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_EVIDENCE_MAX_BYTES: '1000000' });
    cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    permitNo = uniqueId('PB');
  });
  after(async () => {
    await gw?.close();
    await dropDatabase(db);
  });

  const step = async (client: Client, p: string, body: unknown, status = 200) => {
    const r = await client.post(p, body);
    expect(r.status, `${p}: ${r.text}`).to.equal(status);
    return r.body.record;
  };

  it('runs the permit from application to close, with a device-signed alarm that suspends it and an evidence file', async () => {
    const c = cast.clients;
    const base = `/v1/permits/${permitNo}`;
    expect((await startPermit(cast, permitNo)).status).to.equal('active');

    const content = Buffer.alloc(300_000, 3); // two chunks: a dag-pb root over raw leaves
    JPEG_HEAD.copy(content);
    content.write('gas meter photo', JPEG_HEAD.length);
    evidenceCid = await uploadEvidence(cast, permitNo, content, 'meter.jpg', 'image/jpeg');

    await recordCameraAlarm(cast, gw.services.config.GATEWAY_WALLET_DIR, alarmId);
    const suspended = await c.pic.get(base);
    expect(suspended.body.status ?? suspended.body.record?.status, suspended.text).to.equal('suspended');
    await step(c.safety, `/v1/alarms/${alarmId}/acknowledge`, { note: 'valve closed' });
    await step(c.safety, `/v1/alarms/${alarmId}/close`, { note: 'resolved' });
    await step(
      c.analyst,
      `${base}/gas-tests`,
      { testId: `gt2-${cast.tag}`, sampleTakenAt: iso(Date.now() - 10_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 },
      201,
    );
    expect((await step(c.pic, `${base}/resume`, {})).status).to.equal('active');
    await step(c.pic, `${base}/complete`, { siteRestored: true });
    expect((await step(c.acceptor, `${base}/close`, { accepted: true, note: 'site clean' })).status).to.equal('closed');
  });

  it("builds the permit's bundle from the regulator's peer and it verifies against the pinned checkpoint hash", async () => {
    const source = regulatorBlockSource();
    try {
      const built = await buildBundle({
        source,
        channel: source.channel,
        chaincode: source.chaincode,
        subject: { kind: 'permit', permitNo },
        evidence: async (cid) => {
          const chunks: Uint8Array[] = [];
          for await (const c of gw.services.content.cat(cid, 10_000)) chunks.push(c);
          return Buffer.concat(chunks);
        },
      });
      archive = built.archive;
      manifest = built.manifest;
      // The auditor pins the hash of the newest block as their own peer reports it.
      const top = decodeBlock(await source.block((await source.height()) - 1));
      trusted = toHex(await headerHash(top.header));
    } finally {
      source.close();
    }
    files = readTar(archive);
    // Kept for the benchmark (verifier/bench) and for trying the CLI by hand.
    const keep = path.join(process.env.LEDGER_RUN_DIR ?? os.tmpdir(), 'bundles');
    fs.mkdirSync(keep, { recursive: true });
    fs.writeFileSync(path.join(keep, 'permit.tar'), archive);
    fs.writeFileSync(path.join(keep, 'permit.trust'), `${trusted}\n`);
    expect(manifest.transactions.length).to.be.greaterThan(14);
    expect(manifest.evidenceFiles).to.deep.equal([evidenceCid]);
    const kinds = new Set(manifest.records.map((r) => (r.value as { docType: string }).docType));
    for (const k of ['permit', 'alarm', 'device', 'evidence']) expect(kinds.has(k), `${k} records in ${[...kinds].join(',')}`).to.equal(true);
    const report = await verifyBundle(archive, { blockHash: trusted });
    expect(failed(report)).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(await verifyBundleBlob(new Blob([new Uint8Array(archive)]), { blockHash: trusted }), 'the same report from a Blob').to.deep.equal(report);
    const ids = report.checks.map((c) => c.id);
    for (const re of [
      /^chain\.trust$/,
      /^block\.\d+\.ordererSignature$/,
      /^tx\..+\.creator$/,
      /^tx\..+\.endorsement\.1$/,
      /^tx\..+\.policy$/,
      /^record\./,
      /^evidence\./,
      /^alarm\..+\.deviceSignature$/,
    ]) {
      expect(
        ids.some((id) => re.test(id)),
        String(re),
      ).to.equal(true);
    }
    const policy = report.checks.find((c) => c.id === `tx.${manifest.transactions[0]!.txId}.policy`)!;
    expect(policy.detail).to.contain("AND('EnterpriseMSP.peer','RegulatorMSP.peer')");
    // Trusting the config block instead of a hash verifies the same bundle.
    const configBlock = files.get(`blocks/${manifest.blocks[0]}.block`)!;
    expect((await verifyBundle(archive, { configBlock })).ok).to.equal(true);
  });

  it('builds the same bundle, byte for byte, from selection summaries kept by earlier bundles as from a full scan', async () => {
    const source = regulatorBlockSource();
    try {
      // One height and one clock for all three builds: other clients may commit meanwhile.
      const height = await source.height();
      const fixed = { height: async () => height, block: (n: number) => source.block(n) };
      const now = () => new Date('2026-01-01T00:00:00Z');
      const build = (summaries?: Map<number, BlockSummary>) =>
        buildBundle({
          source: fixed,
          channel: source.channel,
          chaincode: source.chaincode,
          subject: { kind: 'permit', permitNo },
          now,
          ...(summaries ? { summaries } : {}),
        });
      const scanned = await build();
      const summaries = new Map<number, BlockSummary>();
      const filling = await build(summaries);
      expect(summaries.size, 'a summary for every block').to.equal(height);
      const warm = await build(summaries);
      expect(Buffer.from(filling.archive).equals(Buffer.from(scanned.archive)), 'bundle while the summaries fill').to.equal(true);
      expect(Buffer.from(warm.archive).equals(Buffer.from(scanned.archive)), 'bundle from kept summaries').to.equal(true);
      expect(warm.manifest.transactions.length).to.be.greaterThan(14);
    } finally {
      source.close();
    }
  });

  it("the verifier's core runs in a browser: headless Chromium, no Node, verifies the bundle and refuses a tampered one", async function () {
    this.timeout(180_000);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      // WebCrypto's subtle API exists only in secure contexts, so the page is an https origin whose
      // one request is answered here: nothing leaves the machine, and the page holds nothing but
      // the verifier bundled for browsers.
      await page.route('https://auditor.invalid/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>verify</title>' }));
      await page.goto('https://auditor.invalid/');
      await page.addScriptTag({ content: await verifierForBrowsers() });
      const inPage = (bytes: Uint8Array, hash: string) =>
        page.evaluate(
          async ({ b64, hash: h }) => {
            const g = globalThis as unknown as {
              LedgerVerifier: {
                verifyBundle(a: Uint8Array, t: { blockHash: string }): Promise<{ ok: boolean; checks: { id: string; status: string; detail: string }[] }>;
                verifyBundleBlob(b: Blob, t: { blockHash: string }): Promise<{ checks: { id: string; status: string; detail: string }[] }>;
              };
              process?: unknown;
            };
            const bin = atob(b64);
            const a = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
            const r = await g.LedgerVerifier.verifyBundle(a, { blockHash: h });
            const bad = r.checks.filter((c) => c.status === 'fail');
            // As the web app's Verify panel reads a download: a Blob, by slices, its evidence hashed in pieces.
            const fromBlob = await g.LedgerVerifier.verifyBundleBlob(new Blob([a]), { blockHash: h });
            return {
              sameFromBlob: JSON.stringify(fromBlob.checks) === JSON.stringify(r.checks),
              ok: r.ok,
              checks: r.checks.length,
              failed: bad.map((c) => c.id),
              details: bad.map((c) => c.detail),
              node: typeof g.process !== 'undefined',
            };
          },
          { b64: Buffer.from(bytes).toString('base64'), hash },
        );
      const genuine = await inPage(archive, trusted);
      expect(genuine.node, 'the page must not have Node').to.equal(false);
      expect(genuine.failed, JSON.stringify(genuine.details)).to.deep.equal([]);
      expect(genuine.ok).to.equal(true);
      expect(genuine.checks).to.equal((await verifyBundle(archive, { blockHash: trusted })).checks.length);
      expect(genuine.sameFromBlob, 'the same checks from a Blob').to.equal(true);
      const tampered = await inPage(archive, 'ab'.repeat(32));
      expect(tampered.ok).to.equal(false);
      expect(tampered.failed).to.include('chain.trust');
      expect(tampered.sameFromBlob, 'the same checks from a Blob').to.equal(true);
      const badEvidence = await inPage(
        rewrap(files, (f) => {
          f.get(`evidence/${evidenceCid}`)![1000]! ^= 1;
        }),
        trusted,
      );
      expect(badEvidence.failed).to.deep.equal([`evidence.${evidenceCid}`]);
      expect(badEvidence.details[0]).to.match(/sha256 is .*CID/);
      expect(badEvidence.sameFromBlob, 'the same checks from a Blob').to.equal(true);
    } finally {
      await browser.close();
    }
  });

  const txBlock = () => manifest.transactions.find((t) => t.blockNumber !== manifest.checkpoint.number)!.blockNumber;
  function editBlock(f: Files, n: number, edit: (b: InstanceType<typeof common.Block>) => void) {
    const b = common.Block.deserializeBinary(f.get(`blocks/${n}.block`)!);
    edit(b);
    f.set(`blocks/${n}.block`, b.serializeBinary());
  }
  function editEnvelope(f: Files, n: number, edit: (e: InstanceType<typeof common.Envelope>) => void) {
    editBlock(f, n, (b) => {
      const data = b.getData()!.getDataList_asU8();
      const e = common.Envelope.deserializeBinary(data[0]!);
      edit(e);
      b.getData()!.setDataList([e.serializeBinary(), ...data.slice(1)]);
    });
  }

  it('fails a one-byte change of a transaction payload: data hash of its block', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) =>
      editEnvelope(f, n, (e) => {
        const p = e.getPayload_asU8().slice();
        p[p.length - 3]! ^= 1;
        e.setPayload(p);
      }),
    );
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(report.ok).to.equal(false);
    expect(failed(report).map((c) => c.id)).to.include(`block.${n}.dataHash`);
  });

  it('fails a one-byte change of a creator signature (data hash kept consistent), naming the creator check', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) => {
      editEnvelope(f, n, (e) => {
        const s = e.getSignature_asU8().slice();
        s[s.length - 1]! ^= 1;
        e.setSignature(s);
      });
      editBlock(f, n, (b) => b.getHeader()!.setDataHash(toHexless(b)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    const ids = failed(report).map((c) => c.id);
    expect(
      ids.some((id) => /^tx\..+\.creator$/.test(id)),
      JSON.stringify(failed(report)),
    ).to.equal(true);
  });

  it('fails a one-byte change of an endorsement signature, naming the endorsement and the policy', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) => {
      editEnvelope(f, n, (e) => {
        const payload = common.Payload.deserializeBinary(e.getPayload_asU8());
        const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
        const action = tx.getActionsList()[0]!;
        const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
        const endorsement = cap.getAction()!.getEndorsementsList()[1]!;
        const sig = endorsement.getSignature_asU8().slice();
        sig[sig.length - 1]! ^= 1;
        endorsement.setSignature(sig);
        action.setPayload(cap.serializeBinary());
        payload.setData(tx.serializeBinary());
        e.setPayload(payload.serializeBinary());
      });
      editBlock(f, n, (b) => b.getHeader()!.setDataHash(toHexless(b)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    const ids = failed(report).map((c) => c.id);
    expect(
      ids.some((id) => /^tx\..+\.endorsement\.1$/.test(id)),
      JSON.stringify(failed(report)),
    ).to.equal(true);
    expect(ids.some((id) => /^tx\..+\.policy$/.test(id))).to.equal(true);
  });

  it('fails a one-byte change of an orderer signature', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) =>
      editBlock(f, n, (b) => {
        const md = b.getMetadata()!.getMetadataList_asU8();
        const sigs = common.Metadata.deserializeBinary(md[0]!);
        const s = sigs.getSignaturesList()[0]!;
        const bytes = s.getSignature_asU8().slice();
        bytes[bytes.length - 1]! ^= 1;
        s.setSignature(bytes);
        b.getMetadata()!.setMetadataList([sigs.serializeBinary(), ...md.slice(1)]);
      }),
    );
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(failed(report).map((c) => c.id)).to.deep.equal([`block.${n}.ordererSignature`]);
  });

  it(
    "requires the ordering service's quorum on each block: one orderer signature with Raft, 3 of 4 distinct consenters with BFT; " + 'fewer fail, saying so',
    async () => {
      const { ordering } = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(profilePath(), 'utf8')));
      const quorum = ordering === 'bft' ? 3 : 1;
      const report = await verifyBundle(archive, { blockHash: trusted });
      const numbers = [...files.keys()].flatMap((k) => /^blocks\/(\d+)\.block$/.exec(k)?.[1] ?? []).map(Number);
      for (const n of numbers.filter((k) => k > 0)) {
        const sigs = decodeBlock(files.get(`blocks/${n}.block`)!).ordererSignatures;
        if (ordering === 'bft') {
          // SmartBFT names each signer by its consenter id; the channel config maps ids to certificates.
          expect(new Set(sigs.map((x) => x.consenterId)).size, `block ${n}`).to.be.at.least(quorum);
          expect(sigs.every((x) => x.signer === null && x.consenterId !== null)).to.equal(true);
        } else {
          expect(sigs.map((x) => x.signer?.mspId)).to.deep.equal(['OrdererMSP']);
        }
        const check = report.checks.find((c) => c.id === `block.${n}.ordererSignature`)!;
        expect(check.status, check.detail).to.equal('pass');
        expect(check.detail).to.match(ordering === 'bft' ? /\(OutOf\(3,'OrdererMSP:orderer0\.orderer\.ledger\.local',/ : /\(ANY Writers /);
      }

      const n = txBlock();
      const keep = (pick: (list: InstanceType<typeof common.MetadataSignature>[]) => InstanceType<typeof common.MetadataSignature>[]) =>
        rewrap(files, (f) =>
          editBlock(f, n, (b) => {
            const md = b.getMetadata()!.getMetadataList_asU8();
            const sigs = common.Metadata.deserializeBinary(md[0]!);
            sigs.setSignaturesList(pick(sigs.getSignaturesList()));
            b.getMetadata()!.setMetadataList([sigs.serializeBinary(), ...md.slice(1)]);
          }),
        );
      const below = await verifyBundle(
        keep((l) => l.slice(0, quorum - 1)),
        { blockHash: trusted },
      );
      expect(failed(below).map((c) => c.id)).to.deep.equal([`block.${n}.ordererSignature`]);
      expect(failed(below)[0]!.detail).to.match(
        ordering === 'bft'
          ? /^\/Channel\/Orderer\/BlockValidation \(OutOf\(3,.*\) of config block \d+ is not satisfied: valid signatures of 2 distinct consenters of 4 \(/
          : /^it carries no orderer signature$/,
      );
      if (ordering === 'bft') {
        // One consenter's signature twice is still one consenter.
        const repeated = await verifyBundle(
          keep((l) => [l[0]!, l[1]!, l[0]!]),
          { blockHash: trusted },
        );
        expect(failed(repeated).map((c) => c.id)).to.deep.equal([`block.${n}.ordererSignature`]);
        expect(failed(repeated)[0]!.detail).to.match(/is not satisfied: valid signatures of 2 distinct consenters of 4/);
      }
    },
  );

  it('fails a one-byte change of a block header in headers.json: the chain to the trusted hash breaks', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) => {
      const headers = JSON.parse(new TextDecoder().decode(f.get('headers.json')!)) as HeaderEntry[];
      const h = headers.find((x) => x.number === n)!;
      h.dataHash = `${h.dataHash.slice(0, -2)}${(parseInt(h.dataHash.slice(-2), 16) ^ 1).toString(16).padStart(2, '0')}`;
      f.set('headers.json', enc.encode(JSON.stringify(headers)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(failed(report)[0]!.id).to.equal('chain.headers');
    expect(failed(report)[0]!.detail).to.match(new RegExp(`hash chain broken at block ${n + 1}`));
  });

  it('fails a config block whose MSP root was swapped for another CA', async () => {
    const bad = rewrap(files, (f) =>
      editEnvelope(f, 0, (e) => {
        const payload = common.Payload.deserializeBinary(e.getPayload_asU8());
        const env = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8());
        const org = env.getConfig()!.getChannelGroup()!.getGroupsMap().get('Application')!.getGroupsMap().get('RegulatorMSP')!;
        const value = org.getValuesMap().get('MSP')!;
        const mspConfig = msp.MSPConfig.deserializeBinary(value.getValue_asU8());
        const fabric = msp.FabricMSPConfig.deserializeBinary(mspConfig.getConfig_asU8());
        fabric.setRootCertsList([selfSignedCaPem()]);
        mspConfig.setConfig(fabric.serializeBinary());
        value.setValue(mspConfig.serializeBinary());
        payload.setData(env.serializeBinary());
        e.setPayload(payload.serializeBinary());
      }),
    );
    const report = await verifyBundle(bad, { blockHash: trusted });
    const ids = failed(report).map((c) => c.id);
    expect(ids).to.include('block.0.dataHash');
  });

  it('fails when an evidence byte changes: sha256 and CID', async () => {
    const bad = rewrap(files, (f) => {
      const b = f.get(`evidence/${evidenceCid}`)!;
      b[1000]! ^= 1;
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(failed(report).map((c) => c.id)).to.deep.equal([`evidence.${evidenceCid}`]);
    expect(failed(report)[0]!.detail).to.match(/sha256 is .*CID/);
    expect(await verifyBundleBlob(new Blob([new Uint8Array(bad)]), { blockHash: trusted }), 'the same report from a Blob').to.deep.equal(report);
  });

  it('fails an alarm whose device signature was changed in the manifest (the record no longer matches, and the signer differs)', async () => {
    const bad = rewrap(files, (f) => {
      const m = manifestOf(f);
      for (const r of m.records) {
        const v = r.value as { docType: string; signature: string };
        if (v.docType === 'alarm') v.signature = `${v.signature.slice(0, 10)}${v.signature[10] === 'a' ? 'b' : 'a'}${v.signature.slice(11)}`;
      }
      f.set('manifest.json', enc.encode(JSON.stringify(m)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    const ids = failed(report).map((c) => c.id);
    expect(
      ids.every((id) => id.startsWith('record.')),
      JSON.stringify(failed(report)),
    ).to.equal(true);
    expect(ids.length).to.be.greaterThan(0);
  });

  it('fails a manifest record that no longer matches the write set', async () => {
    const bad = rewrap(files, (f) => {
      const m = manifestOf(f);
      const permit = m.records.find((r) => (r.value as { docType: string }).docType === 'permit')!;
      (permit.value as { status: string }).status = 'closed_ok';
      f.set('manifest.json', enc.encode(JSON.stringify(m)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(failed(report)).to.have.length(1);
    expect(failed(report)[0]!.detail).to.match(/differs from what transaction/);
  });

  it('fails a bundle whose chain does not reach the trusted hash', async () => {
    const report = await verifyBundle(archive, { blockHash: 'ab'.repeat(32) });
    expect(failed(report).map((c) => c.id)).to.deep.equal(['chain.trust']);
  });

  it('the CLI verifies with networking disabled (unshare -n), and exits 1 with the reason on a tamper', function () {
    const dir = scratchDir('bundle-');
    fs.writeFileSync(path.join(dir, 'permit.tar'), archive);
    const cli = path.resolve('../verifier/bin/ledger-verify.mjs');
    const probe = spawnSync('unshare', ['-rn', 'true']);
    const wrap = probe.status === 0 ? ['unshare', '-rn'] : null;
    if (!wrap) this.skip();
    const out = execFileSync(wrap![0]!, [...wrap!.slice(1), process.execPath, cli, path.join(dir, 'permit.tar'), '--trust', trusted], { encoding: 'utf8' });
    expect(out).to.match(/^VERIFIED: \d+ passed, 0 failed/m);
    const bad = spawnSync(wrap![0]!, [...wrap!.slice(1), process.execPath, cli, path.join(dir, 'permit.tar'), '--trust', 'cd'.repeat(32)], {
      encoding: 'utf8',
    });
    expect(bad.status).to.equal(1);
    expect(bad.stdout).to.match(/FAIL chain\.trust: the chain ends at block/);
    // The CLI reads the evidence from the tar in pieces, never whole: one byte changed on disk fails it by sha256 and CID.
    expect(out).to.contain(`PASS evidence.${evidenceCid}: `);
    fs.writeFileSync(
      path.join(dir, 'tampered.tar'),
      rewrap(files, (f) => {
        f.get(`evidence/${evidenceCid}`)![1000]! ^= 1;
      }),
    );
    const tampered = spawnSync(wrap![0]!, [...wrap!.slice(1), process.execPath, cli, path.join(dir, 'tampered.tar'), '--trust', trusted], { encoding: 'utf8' });
    expect(tampered.status, tampered.stdout + tampered.stderr).to.equal(1);
    expect(tampered.stdout).to.match(new RegExp(`^FAIL evidence\\.${evidenceCid}: sha256 is [0-9a-f]{64}, the ledger recorded .*CID`, 'm'));
  });

  const pinnedHash = regulatorHeaderHash;
  const manifestIn = (bytes: Uint8Array) => manifestOf(readTar(bytes));

  it(
    "serves the permit's bundle over HTTP to an auditor; it verifies against a hash from the " + "regulator's own peer, by the library and by the CLI",
    async () => {
      const r = await cast.clients.auditor.download(`/v1/audit/permits/${permitNo}/bundle`);
      expect(r.status, r.text).to.equal(200);
      expect(r.headers.get('content-type')).to.match(/^application\/x-tar/);
      // Streamed with its length announced; the evidence it spooled on the way is gone after it.
      expect(Number(r.headers.get('content-length'))).to.equal(r.bytes.length);
      expect(await spoolLeft(gw.services.config.GATEWAY_ARCHIVE_SPOOL_DIR)).to.deep.equal([]);
      const m = manifestIn(r.bytes);
      expect(m.subject).to.deep.equal({ kind: 'permit', permitNo });
      expect(m.transactions.map((t) => t.txId)).to.deep.equal(manifest.transactions.map((t) => t.txId));
      expect(m.evidenceFiles).to.deep.equal([evidenceCid]);
      expect(r.headers.get('x-bundle-checkpoint-block')).to.equal(String(m.checkpoint.number));
      const pinned = await pinnedHash(m.checkpoint.number);
      const report = await verifyBundle(r.bytes, { blockHash: pinned });
      expect(failed(report)).to.deep.equal([]);
      expect(report.checks.some((c) => c.id === `alarm.${alarmId}.deviceSignature` && c.status === 'pass')).to.equal(true);
      const dir = scratchDir('bundle-http-');
      fs.writeFileSync(path.join(dir, 'permit.tar'), r.bytes);
      const cli = path.resolve('../verifier/bin/ledger-verify.mjs');
      // Pinning as the README says: the checkpoint block fetched from the regulator's peer, hashed by the CLI.
      const source = regulatorBlockSource();
      try {
        fs.writeFileSync(path.join(dir, 'checkpoint.block'), await source.block(m.checkpoint.number));
      } finally {
        source.close();
      }
      expect(execFileSync(process.execPath, [cli, '--header-hash', path.join(dir, 'checkpoint.block')], { encoding: 'utf8' })).to.equal(
        `${m.checkpoint.number} ${pinned}\n`,
      );
      const out = execFileSync(process.execPath, [cli, path.join(dir, 'permit.tar'), '--trust', pinned], { encoding: 'utf8' });
      expect(out).to.match(/^VERIFIED: \d+ passed, 0 failed/m);
    },
  );

  it("serves one transaction's bundle and a time range's bundle; both verify against the regulator's peer", async () => {
    const txId = manifest.transactions[2]!.txId;
    const one = await cast.clients.auditor.download(`/v1/audit/transactions/${txId}/bundle`);
    expect(one.status, one.text).to.equal(200);
    const m1 = manifestIn(one.bytes);
    expect(m1.transactions.map((t) => t.txId)).to.deep.equal([txId]);
    expect(failed(await verifyBundle(one.bytes, { blockHash: await pinnedHash(m1.checkpoint.number) }))).to.deep.equal([]);

    const first = manifest.transactions[0]!;
    const located = decodeBlock(files.get(`blocks/${first.blockNumber}.block`)!).transactions.find((t) => t.txId === first.txId)!;
    const from = new Date(located.timestampMs).toISOString();
    const to = new Date(located.timestampMs + 1).toISOString();
    const range = await cast.clients.auditor.download(`/v1/audit/bundle?from=${from}&to=${to}`);
    expect(range.status, range.text).to.equal(200);
    const m2 = manifestIn(range.bytes);
    expect(m2.subject).to.deep.equal({ kind: 'range', from, to });
    expect(m2.transactions.map((t) => t.txId)).to.include(first.txId);
    expect(failed(await verifyBundle(range.bytes, { blockHash: await pinnedHash(m2.checkpoint.number) }))).to.deep.equal([]);
  });

  it('refuses bundle requests that cannot be served: 404 for a permit without transactions, 400 for a reversed range, 403 for an enterprise user', async () => {
    const none = await cast.clients.auditor.download(`/v1/audit/permits/${uniqueId('NONE')}/bundle`);
    expect(none.status, none.text).to.equal(404);
    expect(JSON.parse(none.text).error.code).to.equal('NOT_FOUND');
    const reversed = await cast.clients.auditor.download('/v1/audit/bundle?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(reversed.status, reversed.text).to.equal(400);
    expect(reversed.text).to.match(/later than to/);
    const before1970 = await cast.clients.auditor.download('/v1/audit/bundle?from=1969-12-31T23:59:59Z&to=2026-01-01T00:00:00Z');
    expect(before1970.status, before1970.text).to.equal(400);
    expect(before1970.text).to.match(/between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z/);
    const half = await cast.clients.auditor.download('/v1/audit/bundle?from=2026-01-01T00:00:00Z');
    expect(half.status, half.text).to.equal(400);
    expect(JSON.parse(half.text).error.details.fields.map((f: { path: string }) => f.path)).to.deep.equal(['query.to']);
    const enterprise = await cast.clients.applicant.download(`/v1/audit/permits/${permitNo}/bundle`);
    expect(enterprise.status, enterprise.text).to.equal(403);
  });

  it("the audit endpoints report the verifier's checks of each step, verified against the regulator peer's current block", async () => {
    const r = await cast.clients.auditor.get(`/v1/audit/permits/${permitNo}`);
    expect(r.status, r.text).to.equal(200);
    expect(r.body.allVerified, JSON.stringify(r.body.bundle.failures)).to.equal(true);
    expect(r.body.bundle).to.include({ ok: true });
    expect(r.body.bundle.signaturesVerified).to.be.greaterThan(30);
    const step = r.body.steps[0];
    expect(step.verification.validation.status).to.equal('pass');
    expect(step.verification.creator.status).to.equal('pass');
    expect(step.verification.endorsements).to.have.length(2);
    expect(step.verification.policy.detail).to.match(/^satisfied: AND\('EnterpriseMSP.peer','RegulatorMSP.peer'\)/);
  });

  it(
    'a transaction endorsed by the enterprise alone commits as ENDORSEMENT_POLICY_FAILURE; the ' +
      'verifier fails its policy and validation code, over HTTP and offline',
    async () => {
      const conn = connectAsWalletUser(gw.services.config.GATEWAY_WALLET_DIR, 'enterprise', `gw-gate-${cast.tag}`);
      let txId: string;
      try {
        const proposal = conn.contract.newProposal('heartbeat:Record', {
          arguments: [uniqueId('hb-one-org'), 'endorsed by one org'],
          endorsingOrganizations: ['EnterpriseMSP'],
        });
        const commit = await (await proposal.endorse()).submit();
        txId = commit.getTransactionId();
        const status = await commit.getStatus();
        expect(status.successful).to.equal(false);
        expect(status.code).to.equal(10); // ENDORSEMENT_POLICY_FAILURE
        // The status is the enterprise peer's; the auditor's route reads the regulator's peer.
        await waitForRegulatorBlock(Number(status.blockNumber));
      } finally {
        conn.close();
      }
      const facts = await cast.clients.auditor.get(`/v1/audit/transactions/${txId}`);
      expect(facts.status, facts.text).to.equal(200);
      expect(facts.body).to.include({ valid: false, validationCodeName: 'ENDORSEMENT_POLICY_FAILURE' });
      const v = facts.body.verification;
      expect(v.verified).to.equal(false);
      expect(v.creator.status).to.equal('pass');
      expect(v.endorsements.map((e: { status: string }) => e.status)).to.deep.equal(['pass']);
      expect(v.policy.status).to.equal('fail');
      expect(v.policy.detail).to.match(/^not satisfied: AND\('EnterpriseMSP.peer','RegulatorMSP.peer'\).* by valid endorsements from EnterpriseMSP\.peer$/);
      expect(v.validation.status).to.equal('fail');
      expect(v.validation.detail).to.match(/invalid \(code 10\)/);

      const b = await cast.clients.auditor.download(`/v1/audit/transactions/${txId}/bundle`);
      expect(b.status, b.text).to.equal(200);
      const report = await verifyBundle(b.bytes, { blockHash: await pinnedHash(manifestIn(b.bytes).checkpoint.number) });
      const ids = failed(report).map((c) => c.id);
      expect(ids).to.include.members([`tx.${txId}.validation`, `tx.${txId}.policy`]);
      expect(
        ids.every((id) => id.startsWith(`tx.${txId}.`) || id.startsWith(`record.${txId}.`)),
        JSON.stringify(failed(report)),
      ).to.equal(true);
    },
  );

  it(
    "a copy of a committed transaction's envelope commits as DUPLICATE_TXID in a later block; the transaction's and a " +
      "time range's bundles carrying both verify, and a filter that marks the copy valid fails",
    async () => {
      const conn = connectAsWalletUser(gw.services.config.GATEWAY_WALLET_DIR, 'enterprise', `gw-gate-${cast.tag}`);
      const source = regulatorBlockSource();
      try {
        const proposal = conn.contract.newProposal('heartbeat:Record', { arguments: [uniqueId('hb-copy'), 'sent twice'] });
        const signed = await proposal.endorse();
        const first = await signed.submit();
        const status = await first.getStatus();
        expect(status.successful).to.equal(true);
        const txId = signed.getTransactionId();
        const from = Number(status.blockNumber) + 1;
        // Any client may hand the same signed envelope to the orderer again (a retry after a fault does).
        await signed.submit();
        let copyBlock = -1;
        for (let n = from; copyBlock < 0; ) {
          if (n >= (await source.height())) {
            await new Promise((r) => setTimeout(r, 200));
            continue;
          }
          const block = decodeBlock(await source.block(n));
          const copy = block.transactions.find((t) => t.txId === txId);
          if (copy) {
            expect(block.validationCodes[copy.index], 'the copy is marked DUPLICATE_TXID').to.equal(peer.TxValidationCode.DUPLICATE_TXID);
            copyBlock = n;
          }
          n++;
        }
        // Bundles as of the copy's block, so that block is carried as the checkpoint beside the original's.
        const asOfCopy = { height: async () => copyBlock + 1, block: (n: number) => source.block(n) };
        const located = decodeBlock(await source.block(Number(status.blockNumber))).transactions.find((t) => t.txId === txId)!;
        const subjects = [
          { kind: 'transaction' as const, txId },
          { kind: 'range' as const, from: new Date(located.timestampMs).toISOString(), to: new Date(located.timestampMs + 1).toISOString() },
        ];
        const pinned = await pinnedHash(copyBlock);
        for (const subject of subjects) {
          const { archive: bytes, manifest: m } = await buildBundle({ source: asOfCopy, channel: source.channel, chaincode: source.chaincode, subject });
          expect(
            m.transactions.filter((t) => t.txId === txId),
            subject.kind,
          ).to.deep.equal([{ txId, blockNumber: Number(status.blockNumber) }]);
          const blocks = [...readTar(bytes).keys()].filter((k) => k.startsWith('blocks/'));
          expect(blocks, subject.kind).to.include.members([`blocks/${status.blockNumber}.block`, `blocks/${copyBlock}.block`]);
          const report = await verifyBundle(bytes, { blockHash: pinned });
          expect(failed(report), subject.kind).to.deep.equal([]);
          const copies = report.checks.find((c) => c.id === `tx.${txId}.copies`);
          expect(copies?.status, subject.kind).to.equal('pass');
          expect(copies?.detail).to.include(`block ${copyBlock}`);
          const validation = report.checks.find((c) => c.id === `tx.${txId}.validation`);
          expect(validation?.detail).to.equal(`VALID in block ${status.blockNumber} at index ${located.index}`);

          // The transactions filter is the peer's, outside the hashes: a forged one marking the copy VALID must not pass.
          const forged = rewrap(readTar(bytes), (f) =>
            editBlock(f, copyBlock, (b) => {
              const metadata = b
                .getMetadata()!
                .getMetadataList_asU8()
                .map((x) => x.slice());
              const filter = metadata[common.BlockMetadataIndex.TRANSACTIONS_FILTER]!;
              const index = decodeBlock(f.get(`blocks/${copyBlock}.block`)!).transactions.findIndex((t) => t.txId === txId);
              filter[index] = peer.TxValidationCode.VALID;
              b.getMetadata()!.setMetadataList(metadata);
            }),
          );
          const bad = await verifyBundle(forged, { blockHash: pinned });
          expect(bad.ok, subject.kind).to.equal(false);
          const badCopies = failed(bad).find((c) => c.id === `tx.${txId}.copies`);
          expect(badCopies?.detail, subject.kind).to.match(new RegExp(`block ${copyBlock} index \\d+ is marked code 0`));
        }
      } finally {
        source.close();
        conn.close();
      }
    },
  );

  it('fails a block whose orderer signature was made with a key the orderer org never issued (a fresh P-256 key and a self-made certificate)', async () => {
    const n = txBlock();
    const bad = rewrap(files, (f) => editBlock(f, n, resignWithRogueKey));
    const report = await verifyBundle(bad, { blockHash: trusted });
    expect(failed(report).map((c) => c.id)).to.deep.equal([`block.${n}.ordererSignature`]);
    expect(failed(report)[0]!.detail).to.match(/was not issued by any root or intermediate CA of OrdererMSP/);
  });

  it('fails a forged chain whose alarm write set carries a changed device signature: the device-signature check names the wrong signer', async () => {
    const alarmTx = manifest.records.find(
      (r) => (r.value as { docType: string; alarmId?: string }).docType === 'alarm' && (r.value as { alarmId: string }).alarmId === alarmId,
    )!.txId;
    const n = manifest.transactions.find((t) => t.txId === alarmTx)!.blockNumber;
    const bad = rewrap(files, (f) => {
      editBlock(f, n, (b) => {
        const data = b.getData()!.getDataList_asU8();
        const i = data.findIndex((d) => decodeBlockTxId(d) === alarmTx);
        b.getData()!.setDataList(data.map((d, j) => (j === i ? forgeAlarmSignature(d, alarmId) : d)));
        b.getHeader()!.setDataHash(toHexless(b));
      });
      // The forger re-hashes the chain as far as the bundle reaches; the pinned hash still differs.
      const headers = JSON.parse(new TextDecoder().decode(f.get('headers.json')!)) as HeaderEntry[];
      const h = headers.find((x) => x.number === n)!;
      h.dataHash = toHex(
        common.Block.deserializeBinary(f.get(`blocks/${n}.block`)!)
          .getHeader()!
          .getDataHash_asU8(),
      );
      f.set('headers.json', enc.encode(JSON.stringify(headers)));
    });
    const report = await verifyBundle(bad, { blockHash: trusted });
    // The acknowledgement and the closing rewrote the alarm with the genuine signature: those pass.
    const alarm = report.checks.find((c) => c.id === `alarm.${alarmId}.deviceSignature` && c.status === 'fail');
    expect(alarm, JSON.stringify(failed(report))).to.not.equal(undefined);
    expect(alarm!.detail).to.match(/^signed by 0x[0-9a-fA-F]{40}, but device cam-.* is registered with 0x[0-9a-fA-F]{40}|cannot be recovered/);
    const ids = failed(report).map((c) => c.id);
    expect(ids).to.include.members(['chain.headers', `block.${n}.ordererSignature`]);
  });
});

/** Recomputes a block's data hash after an edit, so the tamper reaches the signature checks. */
function toHexless(b: InstanceType<typeof common.Block>): Uint8Array {
  const h = crypto.createHash('sha256');
  for (const d of b.getData()!.getDataList_asU8()) h.update(d);
  return h.digest();
}

function selfSignedCaPem(): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-'));
  return selfSignedCertificate(dir, 'ca', { subject: '/CN=ca.regulator.ledger.local/O=regulator.ledger.local', days: 3650 }).certPem;
}

function decodeBlockTxId(envelope: Uint8Array): string {
  const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelope).getPayload_asU8());
  return common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8()).getTxId();
}

/** Changes one hex digit of the alarm's device signature inside every write of it in the transaction's write set. */
function forgeAlarmSignature(envelopeBytes: Uint8Array, alarmId: string): Uint8Array {
  const e = common.Envelope.deserializeBinary(envelopeBytes);
  const payload = common.Payload.deserializeBinary(e.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  let changed = 0;
  for (const action of tx.getActionsList()) {
    const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const endorsed = cap.getAction()!;
    const prp = peer.ProposalResponsePayload.deserializeBinary(endorsed.getProposalResponsePayload_asU8());
    const ccAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    const txRw = rwset.TxReadWriteSet.deserializeBinary(ccAction.getResults_asU8());
    for (const ns of txRw.getNsRwsetList()) {
      const kv = kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
      for (const w of kv.getWritesList()) {
        let v: { docType?: string; alarmId?: string; signature?: string };
        try {
          v = JSON.parse(new TextDecoder().decode(w.getValue_asU8()));
        } catch {
          continue;
        }
        if (v.docType !== 'alarm' || v.alarmId !== alarmId || !v.signature) continue;
        v.signature = `${v.signature.slice(0, 10)}${v.signature[10] === 'a' ? 'b' : 'a'}${v.signature.slice(11)}`;
        w.setValue(enc.encode(JSON.stringify(v)));
        changed++;
      }
      ns.setRwset(kv.serializeBinary());
    }
    ccAction.setResults(txRw.serializeBinary());
    prp.setExtension$(ccAction.serializeBinary());
    endorsed.setProposalResponsePayload(prp.serializeBinary());
    action.setPayload(cap.serializeBinary());
  }
  expect(changed, 'alarm writes changed').to.be.greaterThan(0);
  payload.setData(tx.serializeBinary());
  e.setPayload(payload.serializeBinary());
  return e.serializeBinary();
}
