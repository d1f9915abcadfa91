import '../support/quiet-logs';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENTERPRISE_MSP, EVALUATE_TXS, parseErrorCode, REGULATOR_MSP, TX_INPUT_SCHEMAS } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { selfSignedCertificate } from '../../../fabric-client/test/support/self-signed';
import { FakeLedger, FakeStub } from '../support/fake-stub';
import { T0, workerId } from '../support/harness';

/**
 * Runs the compiled chaincode (dist/, built by `tsc -b` with decorator metadata) through
 * fabric-shim's own contract dispatcher and ClientIdentity, with X.509 certificates that carry
 * Fabric CA attributes. This checks what the in-memory unit tests cannot: decorator metadata,
 * argument marshalling, error propagation and attribute extraction from a real certificate.
 */

const dist = join(__dirname, '../../dist/index.js');
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract');
const { JSONSerializer } = require('fabric-contract-api');

function certificateWith(dir: string, cn: string, attrs: Record<string, string>): Buffer {
  const hex = Buffer.from(JSON.stringify({ attrs: { ...attrs, 'hf.EnrollmentID': cn } })).toString('hex');
  // Fabric CA puts the attribute JSON as the raw extension value under this OID.
  return selfSignedCertificate(dir, cn, { subject: `/CN=${cn}/OU=client`, extensions: [`1.2.3.4.5.6.7.8.1=DER:${hex}`] }).certPem;
}

class ShimStub extends FakeStub {
  constructor(
    ledger: FakeLedger,
    private readonly creator: { mspid: string; idBytes: Buffer },
    txId: string,
    fcn: string,
    arg: string,
  ) {
    super(ledger, txId, T0, new Map(), fcn, [arg]);
  }
  getBufferArgs(): Buffer[] {
    return [Buffer.from(this.fcn), ...this.args.map((a) => Buffer.from(a))];
  }
  getCreator() {
    return this.creator;
  }
}

describe('compiled chaincode through the fabric-shim dispatcher (dist/)', () => {
  let cc: { metadata?: unknown; Invoke(stub: unknown): Promise<{ status: number; message?: string; payload?: Uint8Array }> };
  const certs: Record<string, { mspid: string; idBytes: Buffer }> = {};
  const ledger = new FakeLedger();
  let seq = 0;

  before(() => {
    if (!existsSync(dist)) throw new Error('dist/ is missing: run `npx tsc -b` at the repository root first');
    const dir = mkdtempSync(join(tmpdir(), 'cc-certs-'));
    certs.officer = { mspid: ENTERPRISE_MSP, idBytes: certificateWith(dir, 'officer-1', { 'ledger.role': 'credential_officer' }) };
    certs.applicant = { mspid: ENTERPRISE_MSP, idBytes: certificateWith(dir, 'applicant-1', { 'ledger.role': 'applicant' }) };
    certs.regulator = { mspid: REGULATOR_MSP, idBytes: certificateWith(dir, 'regulator-1', { 'ledger.role': 'regulator' }) };
    certs.noRole = { mspid: ENTERPRISE_MSP, idBytes: certificateWith(dir, 'peer-admin', {}) };
    const { contracts } = require(dist);
    // The compiled chaincode's own clock module: its peers' clocks read T0, as the proposals do.
    require(join(__dirname, '../../dist/clock.js')).peerClock.nowMs = () => T0;
    cc = new ChaincodeFromContract([...contracts], { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } }, {}, 'compliance', '1');
  });

  async function invoke(who: string, fcn: string, input: unknown) {
    const stub = new ShimStub(ledger, certs[who] as never, `dtx${++seq}`, fcn, JSON.stringify(input));
    const res = await cc.Invoke(stub);
    if (res.status === 200) stub.commit(Buffer.from(res.payload ?? []).toString('utf8'));
    return { res, stub, body: res.status === 200 ? Buffer.from(res.payload ?? []).toString('utf8') : '' };
  }

  it('publishes metadata with every transaction taking one string and returning a string', async () => {
    // the same structure GetMetadata serves (invoking it here trips over tsx's module loading of class-transformer)
    const meta = (cc as unknown as { metadata: { contracts: Record<string, { transactions: { name: string }[] }> } }).metadata as any;
    expect(Object.keys(meta.contracts)).to.include.members(['heartbeat', 'template', 'permit', 'credential', 'evidence', 'device', 'alarm']);
    const apply = meta.contracts.permit.transactions.find((t: { name: string }) => t.name === 'Apply');
    expect(apply.parameters.map((p: { schema: { type: string } }) => p.schema.type)).to.deep.equal(['string']);
    expect(apply.returns.type).to.equal('string');
    const names = meta.contracts.permit.transactions.map((t: { name: string }) => t.name);
    expect(names).to.not.include('begin');
    expect(names).to.include.members(['Apply', 'SignOff', 'Issue', 'Expire', 'Get']);
    // what is declared evaluate-only in schema matches @Transaction(false), and every domain tx is registered
    const all: string[] = [];
    const evaluate: string[] = [];
    for (const [cname, c] of Object.entries(meta.contracts as Record<string, { transactions: { name: string; tag?: string[] }[] }>)) {
      if (cname === 'heartbeat' || cname === 'org.hyperledger.fabric') continue;
      for (const t of c.transactions) {
        all.push(`${cname}:${t.name}`);
        if (!(t.tag ?? []).includes('SUBMIT') && !(t.tag ?? []).includes('submitTx')) evaluate.push(`${cname}:${t.name}`);
      }
    }
    expect(all.sort()).to.deep.equal(Object.keys(TX_INPUT_SCHEMAS).sort());
    expect(evaluate.sort()).to.deep.equal([...EVALUATE_TXS].sort());
  });

  it('reads ledger.role from a CA certificate, writes, emits one event and returns JSON', async () => {
    const w = workerId('dispatch-worker');
    const { res, stub, body } = await invoke('officer', 'credential:RegisterWorker', { workerId: w });
    expect(res.status, res.message).to.equal(200);
    const rec = JSON.parse(body);
    expect(rec.registeredBy).to.include({ mspId: ENTERPRISE_MSP, role: 'credential_officer' });
    expect(rec.registeredBy.certificateId).to.match(/^x509::\/CN=officer-1/);
    expect(stub.events.map((e) => e.name)).to.deep.equal(['WorkerRegistered']);
    const again = await invoke('officer', 'credential:RegisterWorker', { workerId: w });
    expect(parseErrorCode(again.res.message ?? '')).to.equal('ALREADY_EXISTS');
  });

  it('returns coded errors for wrong role, missing role, bad input and unknown records', async () => {
    const wrongRole = await invoke('applicant', 'credential:RegisterWorker', { workerId: workerId('x') });
    expect(wrongRole.res.status).to.equal(500);
    expect(wrongRole.res.message).to.match(/^FORBIDDEN: /);
    const noRole = await invoke('noRole', 'permit:Get', { permitNo: 'P-1' });
    expect(noRole.res.message).to.match(/^FORBIDDEN: .*ledger\.role/);
    const bad = await invoke('applicant', 'permit:Apply', { permitNo: 'P-1' });
    expect(bad.res.message).to.match(/^VALIDATION_FAILED: /);
    const missing = await invoke('regulator', 'permit:Get', { permitNo: 'P-404' });
    expect(missing.res.message).to.match(/^NOT_FOUND: /);
    expect(bad.stub.writes.size + missing.stub.writes.size).to.equal(0);
  });

  // Found on the real network: the dispatcher answered an unknown transaction with uncoded text.
  it('an unknown transaction of a known contract is a coded NOT_FOUND naming what exists', async () => {
    const r = await invoke('applicant', 'permit:Approve', { permitNo: 'P-1' });
    expect(r.res.status).to.equal(500);
    expect(r.res.message).to.match(/^NOT_FOUND: transaction permit:Approve does not exist; permit has Apply, /);
    expect(r.stub.writes.size).to.equal(0);
  });
});
