/**
 * Builds the supervision screen into web/dist with esbuild: one ES module entry (preact, uPlot and
 * the styles bundled from node_modules, nothing fetched from a CDN), and the proof-bundle verifier
 * split into its own chunk that the page loads only when Verify is pressed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');

export async function buildScreen(outDir: string = DIST_DIR): Promise<{ bytes: Record<string, number> }> {
  // Earlier bundles go (their chunk names change with their content); tsc -b's declarations in types/ stay.
  if (fs.existsSync(outDir)) for (const f of fs.readdirSync(outDir)) if (f !== 'types') fs.rmSync(path.join(outDir, f), { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(WEB_DIR, 'src', 'main.tsx') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: outDir,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(WEB_DIR, 'src', 'index.html'), path.join(outDir, 'index.html'));
  const bytes: Record<string, number> = {};
  for (const [file, o] of Object.entries(result.metafile.outputs)) if (!file.endsWith('.map')) bytes[path.relative(outDir, file)] = o.bytes;
  return { bytes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { bytes } = await buildScreen();
  for (const [file, n] of Object.entries(bytes)) console.log(`${file.padEnd(40)} ${(n / 1024).toFixed(1)} KiB`);
}
