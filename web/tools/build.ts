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
    // The metafile's paths are relative to this folder, wherever the build is started from.
    absWorkingDir: WEB_DIR,
    logLevel: 'warning',
  });
  // The chunks app.js imports statically (esbuild's shared helpers) are named in the page too, so
  // the browser fetches them beside app.js instead of one round trip after it.
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint?.endsWith(path.join('src', 'main.tsx')));
  const preloads = (entry?.[1].imports ?? [])
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="${path.relative(outDir, path.resolve(WEB_DIR, i.path)).split(path.sep).join('/')}" />`);
  const page = fs.readFileSync(path.join(WEB_DIR, 'src', 'index.html'), 'utf8');
  const script = '<script type="module" src="app.js"></script>';
  if (!page.includes(script)) throw new Error(`src/index.html must load ${script}`);
  fs.writeFileSync(path.join(outDir, 'index.html'), page.replace(script, [...preloads, script].join('\n    ')));
  const bytes: Record<string, number> = {};
  for (const [file, o] of Object.entries(result.metafile.outputs))
    if (!file.endsWith('.map')) bytes[path.relative(outDir, path.resolve(WEB_DIR, file))] = o.bytes;
  return { bytes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { bytes } = await buildScreen();
  for (const [file, n] of Object.entries(bytes)) console.log(`${file.padEnd(40)} ${(n / 1024).toFixed(1)} KiB`);
}
