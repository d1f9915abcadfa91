/** A kubo daemon for tests: its own IPFS_PATH, loopback ports, offline. Skips when kubo is not built. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export function kuboBinary(): string | undefined {
  const candidates = [
    process.env.KUBO_BIN,
    path.join(process.env.KUBO_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'compliance-ledger', 'kubo'), 'bin', 'ipfs'),
  ];
  return candidates.find((c): c is string => !!c && fs.existsSync(c));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface Kubo {
  bin: string;
  apiUrl: string;
  /** Where other nodes reach this one (its swarm address with its peer id). */
  swarmAddress: string;
  ipfsPath: string;
  cli(args: string[], input?: Buffer): string;
  stop(): Promise<void>;
}

/**
 * Offline by default. `online`: a node that talks to the nodes it is connected to (no bootstrap
 * peers, no mDNS: the test profile), so two of them can exchange blocks over bitswap, like the
 * enterprise's and the regulator's nodes.
 */
export async function startKubo(bin: string, opts: { online?: boolean } = {}): Promise<Kubo> {
  const ipfsPath = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-kubo-'));
  const env = { ...process.env, IPFS_PATH: ipfsPath };
  execFileSync(bin, ['init', '--profile=test', '--empty-repo'], { env, stdio: 'ignore' });
  const [api, gw, swarm] = [await freePort(), await freePort(), await freePort()];
  execFileSync(bin, ['config', 'Addresses.API', `/ip4/127.0.0.1/tcp/${api}`], { env });
  execFileSync(bin, ['config', 'Addresses.Gateway', `/ip4/127.0.0.1/tcp/${gw}`], { env });
  execFileSync(bin, ['config', '--json', 'Addresses.Swarm', JSON.stringify([`/ip4/127.0.0.1/tcp/${swarm}`])], { env });
  const peerId = execFileSync(bin, ['config', 'Identity.PeerID'], { env }).toString().trim();
  const child: ChildProcess = spawn(bin, ['daemon', ...(opts.online ? [] : ['--offline'])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 60_000;
  while (!/Daemon is ready/.test(out)) {
    if (child.exitCode !== null) throw new Error(`kubo exited: ${out}`);
    if (Date.now() > until) throw new Error(`kubo did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    bin,
    apiUrl: `http://127.0.0.1:${api}`,
    swarmAddress: `/ip4/127.0.0.1/tcp/${swarm}/p2p/${peerId}`,
    ipfsPath,
    cli: (args, input) =>
      execFileSync(bin, ['--api', `/ip4/127.0.0.1/tcp/${api}`, ...args], { env, input, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] })
        .toString()
        .trim(),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(ipfsPath, { recursive: true, force: true });
    },
  };
}
