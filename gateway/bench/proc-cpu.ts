/**
 * CPU time of the network's processes, read from /proc/<pid>/stat (user + system, all threads),
 * so that a benchmark can report CPU per committed transaction for each process. CPU time hardly
 * depends on what else runs on the machine, unlike throughput, which is why the figures lead with it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Stat {
  ppid: number;
  /** Own CPU, ms. */
  own: number;
  /** CPU of the children it waited for, ms (PostgreSQL's exited backends end up here). */
  reaped: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces; every field after it is a number.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ms = (i: number) => (Number(f[i]) * 1000) / TICKS_PER_SECOND;
  return { ppid: Number(f[1]), own: ms(11) + ms(12), reaped: ms(13) + ms(14) };
}

/** One process to watch, or a process with all its children (PostgreSQL: postmaster and backends). */
export interface Watched {
  name: string;
  pid: number;
  withChildren?: boolean;
}

export type CpuSnapshot = Map<string, Map<number, number>>;

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if (readStat(Number(e))?.ppid === pid) out.push(Number(e));
  }
  return out;
}

export function snapshot(watched: Watched[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const w of watched) {
    const per = new Map<number, number>();
    const s = readStat(w.pid);
    if (s) per.set(w.pid, s.own + (w.withChildren ? s.reaped : 0));
    if (w.withChildren) for (const c of childrenOf(w.pid)) per.set(c, readStat(c)?.own ?? 0);
    snap.set(w.name, per);
  }
  return snap;
}

/**
 * CPU ms each watched process used between two snapshots. A child that started in between counts
 * from zero; one that exited in between is in its parent's reaped time.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, per] of after) {
    const was = before.get(name) ?? new Map<number, number>();
    let sum = 0;
    for (const [pid, ms] of per) sum += ms - (was.get(pid) ?? 0);
    out.set(name, sum);
  }
  return out;
}

/**
 * The network's processes from the run directory's pid files: each peer, each orderer, each org's
 * active chaincode server (chaincode-<org>.pid; the per-port files name the same processes).
 */
export function networkProcesses(runDir: string): Watched[] {
  const dir = path.join(runDir, 'pids');
  const out: Watched[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const m = /^(peer-[a-z]+|orderer\d+|chaincode-[a-z]+)\.pid$/.exec(f);
    if (!m) continue;
    const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
    if (readStat(pid)) out.push({ name: m[1]!, pid });
  }
  return out;
}

/** PostgreSQL's postmaster, whose children are the backends and its workers (the server must run on this machine). */
export async function postgresPid(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const dir = (await c.query('SHOW data_directory')).rows[0].data_directory as string;
    return Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } finally {
    await c.end();
  }
}
