/**
 * scripts/install-fabric.sh: the three ways to get Fabric, in order, and the refusals. Building
 * from the source archive itself is what every `npm test` on a fresh machine does (bootstrap); these
 * check that nothing is taken from an archive whose hash is not the pinned one, and that a machine
 * with no way at all is told every way.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';

const root = path.resolve(__dirname, '..', '..', '..');
const script = path.join(root, 'scripts', 'install-fabric.sh');
const installedHome = spawnSync('bash', ['-c', 'source scripts/lib.sh && printf %s "$FABRIC_HOME"'], { cwd: root, encoding: 'utf8' }).stdout;
const caBinaries = ['fabric-ca-server', 'fabric-ca-client'].map((b) => path.join(installedHome, 'bin', b));

function install(env: Record<string, string>) {
  const r = spawnSync('bash', [script], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A FABRIC_HOME with the installed Fabric CA only, so the script goes straight to Fabric's three ways. */
function homeWithCaOnly(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-home-'));
  fs.mkdirSync(path.join(home, 'bin'));
  for (const b of caBinaries) fs.symlinkSync(b, path.join(home, 'bin', path.basename(b)));
  return home;
}

describe('install-fabric.sh: proxy, then the source archive, checked before anything is extracted', function () {
  this.timeout(180_000);
  const homes: string[] = [];
  before(function () {
    if (!caBinaries.every((b) => fs.existsSync(b))) {
      if (process.env.LEDGER_REQUIRE_NETWORK === '1') throw new Error(`Fabric CA is not installed in ${installedHome}: run npm run fabric:install`);
      this.skip();
    }
  });
  after(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

  it('uses the binaries already in FABRIC_HOME and builds nothing (way 1)', function () {
    if (!fs.existsSync(path.join(installedHome, 'bin', 'peer'))) this.skip();
    const r = install({ FABRIC_HOME: installedHome, FABRIC_SOURCE_ARCHIVE: '/nonexistent/archive.tar.xz' });
    expect(r.status, r.out).to.equal(0);
    expect(r.out).to.match(/Fabric 3\.1\.5 and Fabric CA 1\.5\.21 are ready in/);
    expect(r.out).to.not.contain('way 2 of 3');
  });

  it('refuses an archive whose sha256 is not the pinned one: a clear error, nothing extracted or built', () => {
    const home = homeWithCaOnly();
    homes.push(home);
    const archive = path.join(home, 'fabric-3.1.5-src.tar.xz');
    fs.writeFileSync(archive, 'not the Fabric source');
    const r = install({ FABRIC_HOME: home, FABRIC_SOURCE_ARCHIVE: archive });
    expect(r.status).to.not.equal(0);
    expect(r.out).to.match(/way 2 of 3, the Go module proxy[\s\S]*way 3 of 3, the source archive/);
    expect(r.out).to.match(/has sha256 [0-9a-f]{64}, not the pinned e1f5ed856ca249e775b11a4f89b3bdfa513a25c13620f803d4d0988653b226ed/);
    expect(r.out).to.contain('Nothing was extracted or built');
    expect(fs.existsSync(path.join(home, 'build', 'source')), 'an extracted source tree').to.equal(false);
    expect(fs.readdirSync(path.join(home, 'bin')).sort()).to.deep.equal(['fabric-ca-client', 'fabric-ca-server']);
  });

  it('names all three ways when none works', () => {
    const home = homeWithCaOnly();
    homes.push(home);
    const r = install({ FABRIC_HOME: home, FABRIC_SOURCE_ARCHIVE: path.join(home, 'missing.tar.xz') });
    expect(r.status).to.not.equal(0);
    const error = r.out.split('\n').find((l) => l.includes('ERROR:')) ?? '';
    expect(error).to.contain('could not be installed in any of the three ways');
    expect(error).to.match(/\(1\) no Fabric 3\.1\.5 binaries in .*\(2\) the Go module proxy .*\(3\) the source archive .*missing\.tar\.xz does not exist/);
    expect(error).to.contain('FABRIC_SOURCE_ARCHIVE');
  });
});
