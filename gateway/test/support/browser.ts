/** Debian's Chromium, headless, through playwright-core: the browser tests of the verifier and of the supervision screen. */
import * as fs from 'node:fs';

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
