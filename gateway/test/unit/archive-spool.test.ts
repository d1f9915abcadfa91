/**
 * An archive download spools its evidence files under GATEWAY_ARCHIVE_SPOOL_DIR and removes them
 * when the download ends or is abandoned (test/integration/monthly-report-archive.test.ts); what a
 * gateway that stopped mid-download left is removed at the next start, once older than any download.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { removeStaleSpools } from '../../src/evidence-spool.js';

describe('gateway: archive spools a stopped gateway left', () => {
  it('removes the spool directories older than a day, and nothing else', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-root-'));
    try {
      const day = 24 * 3_600_000;
      const now = Date.now();
      const make = (name: string, ageMs: number) => {
        const dir = path.join(root, name);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, '0'), 'clip');
        const t = new Date(now - ageMs);
        fs.utimesSync(dir, t, t);
      };
      make('archive-evidence-old', 2 * day);
      make('archive-evidence-running', 60_000);
      make('not-a-spool', 3 * day);
      expect(await removeStaleSpools(root, now)).to.equal(1);
      expect(fs.readdirSync(root).sort()).to.deep.equal(['archive-evidence-running', 'not-a-spool']);
      expect(await removeStaleSpools(path.join(root, 'absent'), now), 'a spool directory not made yet').to.equal(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
