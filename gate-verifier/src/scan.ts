import jsQRImport from 'jsqr';

type JsQr = (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options?: { inversionAttempts?: 'dontInvert' | 'onlyInvert' | 'attemptBoth' | 'invertFirst' },
) => { data: string } | null;
// jsqr is CommonJS: its types declare a default export, at run time the function is the module.
const jsQR = ((jsQRImport as unknown as { default?: JsQr }).default ?? jsQRImport) as unknown as JsQr;

/** A camera frame or a decoded PNG: RGBA, 4 bytes a pixel, row by row. */
export interface RgbaImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * Below this many pixels on its shorter side a frame is decoded as it is. A badge held to the gate
 * camera fills most of the frame with modules of several pixels each; decoding an image reduced by
 * a whole factor first (a quarter of the pixels at factor 2) costs about half of the full image,
 * and a code too small for the reduced image is still found by the full-resolution pass after it.
 */
const REDUCED_SIDE = 300;

/**
 * The worker code text in a frame, or null. Tries the frame reduced (each f×f block averaged to
 * one grey pixel) as printed badges and phone screens show it, dark on light; then the full frame,
 * both polarities, as jsQR does by default.
 */
export function scanCode(image: RgbaImage): string | null {
  const f = Math.floor(Math.min(image.width, image.height) / REDUCED_SIDE);
  if (f >= 2) {
    const small = reduce(image, f);
    const found = jsQR(small.data, small.width, small.height, { inversionAttempts: 'dontInvert' });
    if (found !== null) return found.data;
  }
  const data = image.data instanceof Uint8ClampedArray ? image.data : new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return jsQR(data, image.width, image.height)?.data ?? null;
}

/** The frame shrunk by `f` in both directions: the mean luminance of each f×f block, as RGBA grey. */
function reduce(image: RgbaImage, f: number): { data: Uint8ClampedArray; width: number; height: number } {
  const width = Math.floor(image.width / f);
  const height = Math.floor(image.height / f);
  const src = image.data;
  const out = new Uint8ClampedArray(width * height * 4);
  const area = f * f;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        let i = ((y * f + dy) * image.width + x * f) * 4;
        for (let dx = 0; dx < f; dx++, i += 4) sum += src[i]! * 77 + src[i + 1]! * 150 + src[i + 2]! * 29;
      }
      const grey = sum / (area * 256);
      const o = (y * width + x) * 4;
      out[o] = grey;
      out[o + 1] = grey;
      out[o + 2] = grey;
      out[o + 3] = 255;
    }
  }
  return { data: out, width, height };
}
