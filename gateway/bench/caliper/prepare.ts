/**
 * Prepares a Hyperledger Caliper run of permit:Apply against the running network (run.sh calls it):
 * registers a cast through an in-process gateway (workers, certificates, the applicant's custodial
 * identity, as the saturation benchmark does), then writes into the folder in argv[2]:
 *  - connection-profile.json: the enterprise peer in the common connection profile format;
 *  - network.yaml: Caliper's network configuration (channel, contract, the applicant's cert and key);
 *  - benchmark.yaml: two rounds per load in CALIPER_LOADS, CALIPER_SECONDS each: Caliper's
 *    fixed-load controller, then closed-loop-rate.cjs, which keeps that many transactions in flight
 *    as our benchmark keeps that many callers;
 *  - apply-template.json: the cast's apply body, which workload.cjs stamps with a permit number.
 * Caliper reads YAML, of which JSON is a subset, so every file is written with JSON.stringify.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { enrolledIdentityFiles, loadConnectionProfile } from '@compliance-ledger/fabric-client';
import { Client, createDatabase, dropDatabase, profilePath, startTestGateway } from '../../test/support/env.js';
import { applyBody, makeCast, registerCast } from '../../test/support/scenario.js';

const out = process.argv[2];
if (!out) throw new Error('usage: prepare.ts <output folder>');
const LOADS = (process.env.CALIPER_LOADS ?? '128').split(',').map(Number);
const SECONDS = Number(process.env.CALIPER_SECONDS ?? 30);
const WORKERS = Number(process.env.CALIPER_WORKERS ?? 1);
const here = path.dirname(new URL(import.meta.url).pathname);

const db = await createDatabase('gw_caliper');
const gw = await startTestGateway({ GATEWAY_ORG: 'enterprise', DATABASE_URL: db, GATEWAY_OCR_ENABLED: '0' });
try {
  const cast = await makeCast(new Client(gw.url));
  await registerCast(cast);
  // The first apply enrols the applicant's custodial identity, whose files Caliper signs with.
  const first = await cast.clients.applicant.post('/v1/permits', applyBody(cast, `CW-${cast.tag}`));
  if (first.status !== 201) throw new Error(`warm-up apply: ${first.status} ${first.text}`);
  const id = enrolledIdentityFiles(path.join(gw.services.config.GATEWAY_WALLET_DIR, 'enterprise', `gw-applicant-${cast.tag}`));
  const profile = loadConnectionProfile(profilePath());
  const ent = profile.organizations.enterprise;
  fs.mkdirSync(out, { recursive: true });
  const write = (name: string, value: unknown) => fs.writeFileSync(path.join(out, name), `${JSON.stringify(value, null, 2)}\n`);
  write('connection-profile.json', {
    name: 'compliance-ledger-enterprise',
    version: '1.0.0',
    client: { organization: ent.mspId },
    organizations: { [ent.mspId]: { mspid: ent.mspId, peers: [ent.peer.hostAlias] } },
    peers: {
      [ent.peer.hostAlias]: {
        url: `grpcs://${ent.peer.endpoint}`,
        tlsCACerts: { path: ent.peer.tlsCaFile },
        grpcOptions: { 'ssl-target-name-override': ent.peer.hostAlias, hostnameOverride: ent.peer.hostAlias },
      },
    },
  });
  write('network.yaml', {
    name: 'compliance-ledger',
    version: '2.0.0',
    caliper: { blockchain: 'fabric' },
    channels: [{ channelName: profile.channel, contracts: [{ id: profile.chaincode }] }],
    organizations: [
      {
        mspid: ent.mspId,
        identities: { certificates: [{ name: 'applicant', clientPrivateKey: { path: id.keyFile }, clientSignedCert: { path: id.certFile } }] },
        connectionProfile: { path: path.join(out, 'connection-profile.json'), discover: true },
      },
    ],
  });
  write('apply-template.json', applyBody(cast, 'TEMPLATE'));
  write('benchmark.yaml', {
    test: {
      name: 'permit-apply',
      description: 'permit:Apply through the enterprise peer (fabric-gateway binding), both orgs endorsing',
      workers: { number: WORKERS },
      // Per load: Caliper's own fixed-load controller, then ours that holds the load exactly.
      rounds: LOADS.flatMap((load) =>
        [
          ['fixed-load', 'fixed-load'],
          ['closed-loop', path.join(here, 'closed-loop-rate.cjs')],
        ].map(([name, type]) => ({
          label: `permit-apply-${name}-${load}`,
          txDuration: SECONDS,
          rateControl: { type, opts: { transactionLoad: load, startTps: 20 } },
          workload: {
            module: path.join(here, 'workload.cjs'),
            arguments: { template: path.join(out, 'apply-template.json'), channel: profile.channel, contract: profile.chaincode, prefix: `CAL-${cast.tag}` },
          },
        })),
      ),
    },
  });
} finally {
  await gw.close();
  await dropDatabase(db);
}
process.exit(0);
