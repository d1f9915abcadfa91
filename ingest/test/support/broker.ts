import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Mosquitto } from './mosquitto.js';
import { INGEST_DIR } from './paths.js';

const run = promisify(execFile);

/**
 * The Mosquitto a suite talks to. `npm test` (scripts/test.sh) starts a private one and exports
 * `TEST_MQTT_URL`: then the suite uses it, and restarts it through scripts/services.sh (its pid
 * file under `$LEDGER_RUN_DIR/pids`). Without `TEST_MQTT_URL` the suite starts its own on a free
 * port (test/helpers/mosquitto.ts). Suites on a shared broker use their own topic root, so
 * persistent sessions of earlier runs never receive their messages.
 */
export interface TestBroker {
  url: string;
  external: boolean;
  /** SIGTERM by default; SIGKILL for a crash (the broker keeps only what it last autosaved). */
  restart(downMs?: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  stop(): Promise<void>;
}

function ledgerRunDir(): string {
  if (process.env.LEDGER_RUN_DIR) return process.env.LEDGER_RUN_DIR;
  if (process.env.LEDGER_CONNECTION_PROFILE) return dirname(process.env.LEDGER_CONNECTION_PROFILE);
  return join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'compliance-ledger', 'run');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

class ExternalBroker implements TestBroker {
  readonly external = true;
  constructor(readonly url: string) {}

  /** The signal (SIGTERM: Mosquitto saves its persistence file), wait for the exit, start it again. */
  async restart(downMs = 300, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const runDir = ledgerRunDir();
    const pidFile = join(runDir, 'pids', 'mosquitto.pid');
    if (!existsSync(pidFile)) throw new Error(`cannot restart the broker at TEST_MQTT_URL: no ${pidFile} (scripts/services.sh did not start it)`);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, signal);
    const started = Date.now();
    while (alive(pid)) {
      if (Date.now() - started > 20_000) throw new Error(`mosquitto ${pid} did not stop`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, downMs));
    await run('bash', [join(INGEST_DIR, '..', 'scripts', 'services.sh'), 'start', 'mosquitto'], {
      env: { ...process.env, LEDGER_RUN_DIR: runDir, LEDGER_TEST_MQTT_PORT: new URL(this.url).port },
    });
  }

  async stop(): Promise<void> {
    // Not ours: scripts/test.sh stops it.
  }
}

export async function startTestBroker(dir: string): Promise<TestBroker> {
  const url = process.env.TEST_MQTT_URL;
  if (url) return new ExternalBroker(url);
  if (!Mosquitto.available()) throw new Error('mosquitto is not installed: apt-get install -y mosquitto');
  const own = await Mosquitto.start(dir);
  return { url: own.url, external: false, restart: (downMs, signal) => own.restart(downMs, signal), stop: () => own.stop() };
}
