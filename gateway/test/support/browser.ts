/** Debian's Chromium, headless, through playwright-core: the browser tests of the verifier and of the supervision screen. */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Launched with nothing that reaches out to the network. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (npm test's bootstrap does, as root), or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The verifier's core (verifier/src/index.ts) bundled for browsers as the global LedgerVerifier: any Node-only import fails here. */
export async function verifierForBrowsers(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../../../verifier/src/index.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'LedgerVerifier',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}
