import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A real Mosquitto for one test suite: own config on a free loopback port, persistence in a
 * temporary folder (so a restart keeps persistent sessions and their queues), and a queue limit
 * far above any burst a test sends.
 */
export class Mosquitto {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static available(): boolean {
    return ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].some(existsSync);
  }

  static async start(dir: string): Promise<Mosquitto> {
    const m = new Mosquitto(await freePort(), dir);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${m.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 1',
        'max_queued_messages 100000',
        'max_inflight_messages 100',
        'user root',
        'log_dest none',
        '',
      ].join('\n'),
    );
    await m.launch();
    return m;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const bin = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
    this.child = spawn(bin, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await waitForPort(this.port, 5_000);
  }

  /** Stop (SIGTERM: Mosquitto writes its persistence file; SIGKILL: a crash, only the last autosave remains), then start again. */
  async restart(downMs = 300, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - started > timeoutMs) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
