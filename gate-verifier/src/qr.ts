import QRCode from 'qrcode';

// Level M survives a scuffed badge or a cracked phone screen and keeps a 2-certificate code
// small enough for a phone camera at arm's length.
const OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;

export async function workerCodePng(codeText: string, scale = 6): Promise<Buffer> {
  return QRCode.toBuffer(codeText, { ...OPTIONS, type: 'png', scale });
}

export async function workerCodeSvg(codeText: string): Promise<string> {
  return QRCode.toString(codeText, { ...OPTIONS, type: 'svg' });
}
