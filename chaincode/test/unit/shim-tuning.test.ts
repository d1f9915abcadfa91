import '../support/quiet-logs';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { selfSignedCertificate } from '../../../fabric-client/test/support/self-signed';
import { rememberParsedCertificates, skipDisabledLogLevels } from '../../src/shim-tuning';

const shimRequire = createRequire(require.resolve('fabric-shim'));
const winston = shimRequire('winston');
const { ClientIdentity } = require('fabric-shim');

describe('shim tuning: the same behaviour for less CPU per transaction', () => {
  before(() => {
    skipDisabledLogLevels();
    rememberParsedCertificates();
  });

  it('formats and prints the messages at or above the level, and formats none below it', () => {
    const formatted: string[] = [];
    const printed: string[] = [];
    const counting = winston.format((info: { message: string }) => {
      formatted.push(info.message);
      return info;
    });
    const sink = new Writable({
      objectMode: true,
      write(info: { message: string }, _enc, done) {
        printed.push(info.message);
        done();
      },
    });
    const logger = winston.createLogger({ level: 'warn', format: counting(), transports: [new winston.transports.Stream({ stream: sink })] });
    logger.debug('a debug line');
    logger.info('an info line');
    logger.log('debug', 'a debug line through log()');
    logger.warn('a warning');
    logger.error('an error');
    logger.log('error', 'an error through log()');
    expect(formatted).to.deep.equal(['a warning', 'an error', 'an error through log()']);
    expect(printed).to.deep.equal(formatted);
    logger.level = 'debug';
    logger.debug('debug once enabled');
    expect(printed.at(-1)).to.equal('debug once enabled');
  });

  it('gives each creator its own identity and attributes when certificates are remembered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-shim-tuning-'));
    const cert = (cn: string, role: string) => {
      const hex = Buffer.from(JSON.stringify({ attrs: { 'ledger.role': role, 'hf.EnrollmentID': cn } })).toString('hex');
      return selfSignedCertificate(dir, cn, { subject: `/CN=${cn}/OU=client`, extensions: [`1.2.3.4.5.6.7.8.1=DER:${hex}`] }).certPem;
    };
    const creators = [
      { mspid: 'EnterpriseMSP', idBytes: cert('applicant-7', 'applicant') },
      { mspid: 'RegulatorMSP', idBytes: cert('regulator-7', 'regulator') },
    ];
    const identityOf = (creator: (typeof creators)[number], txId: string) =>
      new ClientIdentity({ getChannelID: () => 'compliance', getTxID: () => txId, getCreator: () => creator });
    const seen = [0, 1, 2, 3].map((i) => identityOf(creators[i % 2]!, `tx${i}`));
    expect(seen.map((c) => c.getAttributeValue('ledger.role'))).to.deep.equal(['applicant', 'regulator', 'applicant', 'regulator']);
    expect(seen.map((c) => c.getMSPID())).to.deep.equal(['EnterpriseMSP', 'RegulatorMSP', 'EnterpriseMSP', 'RegulatorMSP']);
    expect(seen[0]!.getID()).to.equal(seen[2]!.getID()).and.to.contain('CN=applicant-7');
    expect(seen[1]!.getID()).to.contain('CN=regulator-7');
  });
});
