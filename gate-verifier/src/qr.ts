import QRCode from 'qrcode';

// Level M survives a scuffed badge or a cracked phone screen and keeps a 2-certificate code
// small enough for a phone camera at arm's length.
const LEVEL = 'M';
const MARGIN = 4;

export async function workerCodePng(codeText: string, scale = 6): Promise<Buffer> {
  return QRCode.toBuffer(codeText, { errorCorrectionLevel: LEVEL, margin: MARGIN, type: 'png', scale });
}

/**
 * The QR as SVG of filled squares, one path of `h`/`v` runs, with a size in pixels: stroked
 * outlines (what the qrcode package draws) come out blurred by some rasterizers, badge printers'
 * among them, while filled runs render the same everywhere.
 */
export async function workerCodeSvg(codeText: string, sizePx = 512): Promise<string> {
  const { modules } = QRCode.create(codeText, { errorCorrectionLevel: LEVEL });
  const n = modules.size;
  const runs: string[] = [];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; ) {
      if (!modules.get(y, x)) {
        x++;
        continue;
      }
      let w = 1;
      while (x + w < n && modules.get(y, x + w)) w++;
      runs.push(`M${x + MARGIN} ${y + MARGIN}h${w}v1h-${w}z`);
      x += w;
    }
  }
  const side = n + 2 * MARGIN;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${sizePx}" height="${sizePx}" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges">` +
    `<rect width="${side}" height="${side}" fill="#ffffff"/><path fill="#000000" stroke="none" d="${runs.join('')}"/></svg>\n`
  );
}
