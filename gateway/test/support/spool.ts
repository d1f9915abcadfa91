import * as fs from 'node:fs';

/**
 * What downloads left in a gateway's evidence spool (GATEWAY_ARCHIVE_SPOOL_DIR), once the gateway
 * has had up to 10 s to finish: the client may hold every announced byte before the gateway's
 * stream has ended.
 */
export async function spoolLeft(dir: string): Promise<string[]> {
  const left = () => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  const until = Date.now() + 10_000;
  while (left().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return left();
}
