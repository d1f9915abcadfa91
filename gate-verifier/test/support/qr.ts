import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRImport from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is CommonJS: its types declare a default export, at run time the function is the module.
const jsQR = ((jsQRImport as unknown as { default?: unknown }).default ?? jsQRImport) as typeof jsQRImport.default;

/** Reads a QR PNG with jsQR (an independent decoder, in-process). */
export function decodeWithJsQr(png: Buffer): string {
  const img = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height);
  if (found === null) throw new Error('jsQR found no QR code in the image');
  return found.data;
}

/** Whether Debian's zbarimg (zbar-tools) is installed. */
export function hasZbarimg(): boolean {
  try {
    execFileSync('zbarimg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reads a QR image (PNG or SVG) with zbarimg, as a separate process. */
export function decodeWithZbarimg(image: Buffer | string, ext: 'png' | 'svg'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gate-qr-'));
  try {
    const file = join(dir, `badge.${ext}`);
    writeFileSync(file, image);
    return execFileSync('zbarimg', ['--raw', '-q', '-Sdisable', '-Sqrcode.enable', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(
      /\n$/,
      '',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
