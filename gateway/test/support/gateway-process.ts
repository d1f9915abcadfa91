/**
 * The gateway as a process of its own (src/main.ts), with the test configuration, for what an
 * in-process gateway cannot show: its own resident memory, read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnvironment } from './env.js';

const gatewayRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The gateway's node flags and memory settings, from its package.json's `config`, which `npm start`
 * and scripts/stack.sh read too (gateway README, Memory); the benches' gateway runs with them, so
 * that it measures what ships.
 */
const shipped = (JSON.parse(fs.readFileSync(path.join(gatewayRoot, 'package.json'), 'utf8')) as { config: { nodeFlags: string; mallocArenaMax: string } })
  .config;
export const GATEWAY_NODE_OPTIONS: readonly string[] = shipped.nodeFlags.split(' ').filter(Boolean);
export const GATEWAY_MEMORY_ENV = { MALLOC_ARENA_MAX: shipped.mallocArenaMax };

export interface GatewayProcess {
  url: string;
  pid: number;
  /** Resident memory now and at its peak (VmRSS, VmHWM), bytes. */
  memory(): { rss: number; peakRss: number };
  stop(): Promise<void>;
}

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export async function startGatewayProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-process-'));
  // As `npm start` and scripts/stack.sh run it: a small young generation and two malloc arenas
  // keep the buffers of a streamed transfer from growing the process (gateway README, Memory).
  // The compiled gateway when it is built (npm test builds it), as it runs in production: under
  // tsx the transpiler's own memory would count against the gateway's.
  const compiled = path.join(gatewayRoot, 'dist', 'main.js');
  const entry = fs.existsSync(compiled) ? [compiled] : ['--import', 'tsx', path.join(gatewayRoot, 'src', 'main.ts')];
  const child: ChildProcess = spawn(process.execPath, [...GATEWAY_NODE_OPTIONS, ...entry], {
    cwd: gatewayRoot,
    env: {
      ...process.env,
      ...testEnvironment(scratch),
      GATEWAY_UPLOAD_DIR: path.join(scratch, 'uploads'),
      LOG_LEVEL: 'info',
      ...GATEWAY_MEMORY_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  child.stderr!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  const until = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the gateway exited with ${child.exitCode ?? child.signalCode}: ${out}`);
    if (Date.now() > until) throw new Error(`the gateway did not start: ${out}`);
    url = /"url":"(http:\/\/[^"]+)"[^\n]*"gateway listening"/.exec(out)?.[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    memory: () => ({ rss: statusBytes(pid, 'VmRSS'), peakRss: statusBytes(pid, 'VmHWM') }),
    async stop() {
      // A child killed by a signal (the fault suite's SIGKILL) has no exit code, only a signal code, and its exit event is gone.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
