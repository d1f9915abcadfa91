import { expect } from 'chai';
import { common, peer, msp } from '@hyperledger/fabric-protos';
import * as crypto from 'node:crypto';
import { requireNetwork } from '../support/network';
import { Cast, workerIdOf, randomIdNumber, errorText } from '../support/ledger';
describe('scratch', function () {
  this.timeout(120000);
  it('private', async function () {
    const profile = requireNetwork(this);
    const cast = new Cast(profile);
    const officer = cast.person('sc-officer', 'enterprise', 'credential_officer');
    const w = workerIdOf(randomIdNumber());
    await officer.submit('credential:RegisterWorker', { workerId: w });
    const personal = { name: '张三丰', idNumber: randomIdNumber(), salt: crypto.randomBytes(24).toString('base64') };
    try { const r = await officer.submit('credential:StoreWorkerPersonalData', { workerId: w }, { transient: { personal } }); console.log('default OK', await endorsers(officer, profile.channel, r.txId)); } catch (e) { console.log('default FAIL', (e as Error).message); }
    try { const r = await officer.submit('credential:StoreWorkerPersonalData', { workerId: w }, { transient: { personal }, endorsingOrganizations: ['EnterpriseMSP'] }); console.log('ent-only OK', await endorsers(officer, profile.channel, r.txId)); } catch (e) { console.log('ent-only FAIL', (e as Error).message); }
    const acc = 'acc-' + crypto.randomBytes(4).toString('hex');
    try { await officer.submit('credential:LogPersonalDataAccess', { accessId: acc, subject: { kind: 'worker', id: w }, purpose: 'test' }); console.log(await officer.evaluate('credential:ReadPersonalData', { accessId: acc })); } catch (e) { console.log('read FAIL', (e as Error).message); }
    try { const r = await officer.submit('credential:ErasePersonalData', { subject: { kind: 'worker', id: w }, reason: 'test' }, { endorsingOrganizations: ['EnterpriseMSP'] }); console.log('erase OK', r); } catch (e) { console.log('erase FAIL', (e as Error).message); }
    try { const r = await officer.submit('credential:ErasePersonalData', { subject: { kind: 'worker', id: w }, reason: 'test' }); console.log('erase default OK', r); } catch (e) { console.log('erase default FAIL', (e as Error).message); }
    cast.close();
  });
});

async function endorsers(p: any, channel: string, txId: string) {
  const qscc = p.conn.gateway.getNetwork(channel).getContract('qscc');
  const bytes = await qscc.evaluateTransaction('GetTransactionByID', channel, txId);
  const processed = peer.ProcessedTransaction.deserializeBinary(bytes);
  const payload = common.Payload.deserializeBinary(processed.getTransactionenvelope()!.getPayload_asU8());
  const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
  const action = peer.ChaincodeActionPayload.deserializeBinary(tx.getActionsList()[0]!.getPayload_asU8());
  return [processed.getValidationcode(), action.getAction()!.getEndorsementsList().map((e) => msp.SerializedIdentity.deserializeBinary(e.getEndorser_asU8()).getMspid())];
}
