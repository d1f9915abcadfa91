/** Certificate OCR: image in, candidate fields out, for a person to confirm. No ledger write. */
import * as crypto from 'node:crypto';
import { z } from 'zod';
import { ApiError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import type { RouteContext, RouteDef } from '../http.js';
import { readMultipart } from '../multipart.js';
import type { Services } from '../services.js';

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/tiff', 'image/bmp', 'image/webp'];
const field = z.object({ value: z.string(), confidence: z.number() }).nullable();
export const ocrResponseSchema = z.object({
  fields: z.object({
    certificateNo: field,
    name: field,
    category: field,
    categoryId: z.string().nullable(),
    item: field,
    validFrom: field,
    validUntil: field,
    reviewDue: field,
  }),
  text: z.string(),
  confidence: z.number(),
  language: z.string(),
  requiresConfirmation: z.literal(true),
  scanSha256: z.string(),
  sizeBytes: z.number().int(),
});

function readImage(ctx: RouteContext, max: number): Promise<{ bytes: Buffer; mediaType: string }> {
  return readMultipart(ctx, { files: 1, fields: 0, fileSize: max + 1 }, 'one part named image', (bb, upload) => {
    const fail = (e: unknown) => upload.fail(e);
    let got: { bytes: Buffer; mediaType: string } | undefined;
    bb.on('field', (name) => fail(new ValidationError([{ path: `form.${name}`, message: 'unknown field' }])));
    bb.on('file', (name, stream, info) => {
      if (name !== 'image') {
        stream.resume();
        return fail(new ValidationError([{ path: `form.${name}`, message: 'the image part must be named "image"' }]));
      }
      if (!IMAGE_TYPES.includes(info.mimeType)) {
        stream.resume();
        return fail(new UnsupportedMediaTypeError(info.mimeType, IMAGE_TYPES));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) return fail(new PayloadTooLargeError(max));
        chunks.push(c);
      });
      stream.on('end', () => {
        got = { bytes: Buffer.concat(chunks), mediaType: info.mimeType };
      });
    });
    bb.on('filesLimit', () => fail(new ValidationError([{ path: 'form', message: 'send exactly one image' }])));
    bb.on('fieldsLimit', () => fail(new ValidationError([{ path: 'form', message: 'send only one part, image' }])));
    bb.on('close', () => {
      if (upload.settled) return;
      if (!got || got.bytes.length === 0) return fail(new ValidationError([{ path: 'form.image', message: 'the part "image" is missing or empty' }]));
      upload.succeed(got);
    });
  });
}

export function ocrRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/v1/certificates/ocr',
      operationId: 'ocrCertificate',
      summary: 'Read a 特种作业操作证 image: candidate fields with confidence, for a person to confirm (nothing is written)',
      description:
        'multipart/form-data with one part `image`. The response is a proposal only; after a ' +
        'person confirmed or corrected the fields, register the certificate with POST ' +
        '/v1/certificates (scanSha256 is the image hash to record). Side-effect free, so no ' +
        'Idempotency-Key is needed and nothing is stored.',
      tags: ['enterprise: credentials'],
      auth: true,
      sideEffectFree: true,
      access: { enterprise: ['credential_officer'] },
      multipart: { fields: z.strictObject({}), fileField: 'image', fileDescription: `the certificate image (${IMAGE_TYPES.join(', ')})` },
      responses: [{ status: 200, description: 'recognised fields', schema: ocrResponseSchema }],
      errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_CONFIGURED'],
      handler: async (ctx) => {
        if (!s.ocr) throw new ApiError('NOT_CONFIGURED', 'OCR is disabled (GATEWAY_OCR_ENABLED=0)');
        const img = await readImage(ctx, s.config.GATEWAY_OCR_MAX_BYTES);
        const r = await s.ocr.recognize(img.bytes);
        return { body: { ...r, scanSha256: crypto.createHash('sha256').update(img.bytes).digest('hex'), sizeBytes: img.bytes.length } };
      },
    },
  ];
}
