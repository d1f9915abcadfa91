/**
 * The supervision screen in headless Chromium: a page per user signed in through the screen's own
 * form, every view checked with axe-core (no critical violation) and saved as a screenshot in the
 * test output folder.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';

const require = createRequire(import.meta.url);

/** Where the screenshots go: WEB_TEST_OUTPUT, else $LEDGER_RUN_DIR/test-output/web. */
export function outputDir(): string {
  const dir = process.env.WEB_TEST_OUTPUT ?? path.join(process.env.LEDGER_RUN_DIR ?? os.tmpdir(), 'test-output', 'web');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Opens /app/ and signs in with the token, as a user would paste it. */
export async function signIn(browser: Browser, base: string, token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/app/`);
  await page.locator('#credential').fill(token);
  await page.getByRole('button', { name: /登录|Sign in/ }).click();
  await page.locator('[data-testid="who"]').waitFor();
  return page;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core in the page (through the debugging protocol: the screen's content security policy
 * refuses injected script tags, as it should) and saves a full-page screenshot. Returns the
 * critical violations, each as "rule: help (targets)".
 */
export async function auditView(page: Page, name: string): Promise<string[]> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  await page.screenshot({ path: path.join(outputDir(), `${name}.png`), fullPage: true });
  fs.writeFileSync(path.join(outputDir(), `${name}.axe.json`), JSON.stringify(violations, null, 2));
  return violations.filter((v) => v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
