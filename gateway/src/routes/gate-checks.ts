/**
 * Gate checks signed by the gate device, with the photo or short clip the gate took of the person
 * (issue 19, point 5). The device signs the photo's sha256 and type with the rest of the check; the
 * gateway checks the bytes against both before it stores them in the content store, and the
 * chaincode records the hash and CID (never the bytes) after checking they are the signed ones.
 * The photo is personal data: only the enterprise's safety officer and guardians and the
 * regulator may fetch it back.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GATE_PHOTO_MEDIA_TYPES,
  type GateCheckRecord,
  type GatePhotoMediaType,
  idSchema,
  permitNoSchema,
  type SignedGateCheckInput,
  signedGateCheckInput,
} from '@compliance-ledger/schema';
import { z } from 'zod';
import { NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { type Access, checkInput, type RouteContext, type RouteDef, type RouteResult } from '../http.js';
import { checkMediaType, SNIFF_BYTES } from '../media-check.js';
import { readMultipart } from '../multipart.js';
import type { Services } from '../services.js';
import { txResultSchema } from './common.js';
import { submitTx } from './enterprise.js';
import { contentResponse } from './evidence-transfer.js';

const TAG = 'enterprise: credentials';
/** Who may see the person at the gate: the enterprise's safety roles, and the regulator. */
export const GATE_PHOTO_READERS: Access = { enterprise: ['safety_officer', 'guardian'], regulator: ['regulator'] };

/** The JSON body: what the gate signed; `photo` is the gateway's to fill in from the bytes it stored. */
const signedGateCheckBody = signedGateCheckInput.omit({ photo: true });
const gateCheckFormFields = z.strictObject({
  gateCheck: z.string().min(2).max(16_384).describe('the JSON body of the route (check, code, signature) as text; check.photoSha256 and photoType set'),
});

export function gateCheckRoutes(s: Services): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/v1/gate-checks',
      operationId: 'recordSignedGateCheck',
      summary: 'Record a gate check signed by the gate device (worker code scanned, decision, offline flag, hash of the face match, photo)',
      description:
        'application/json: the credential:RecordSignedGateCheck input (`check`, `code`, `signature`), as `signGateCheck` of gate-verifier builds it. ' +
        'With a photo or short clip of the person at the gate: multipart/form-data with the field `gateCheck` (that JSON as text) first, then the ' +
        'part `photo`, whose sha256 and media type the device signed as `check.photoSha256` and `check.photoType` (image/jpeg, image/png, ' +
        'video/mp4; at most GATEWAY_GATE_PHOTO_MAX_BYTES). The bytes must be of the declared type (415 CONTENT_TYPE_MISMATCH) and hash to the ' +
        'signed sha256 (400 VALIDATION_FAILED); they go to the content store, the ledger records only their sha256 and CID.',
      tags: [TAG],
      auth: true,
      access: { enterprise: ['device_gateway'] },
      body: signedGateCheckBody,
      multipart: { fields: gateCheckFormFields, fileField: 'photo', fileDescription: 'the photo or clip the gate took; its sha256 is check.photoSha256' },
      tx: 'credential:RecordSignedGateCheck',
      responses: [{ status: 201, description: 'committed; the record after credential:RecordSignedGateCheck', schema: txResultSchema }],
      errors: [
        'NOT_FOUND',
        'INVALID_STATE',
        'RULE_VIOLATION',
        'EXPIRED',
        'ALREADY_EXISTS',
        'SIGNATURE_INVALID',
        'CONFLICT',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'CONTENT_TYPE_MISMATCH',
      ],
      handler: async (ctx) => ({ ...(await recordGateCheck(s, ctx)), status: 201 }),
    },
    {
      method: 'get',
      path: '/v1/permits/{permitNo}/gate-checks/{gateCheckId}/photo',
      operationId: 'getGateCheckPhoto',
      summary: 'The photo or clip of the person at a gate check (personal data), streamed; its sha256 is the one on the ledger',
      description:
        'Only a photo the ledger records on this gate check is served, with its recorded media type, size and sha256 (Content-Digest), ' +
        'never cached (Cache-Control: no-store). Read from credential:ListGateChecks as the caller. ' +
        'One byte range (Range: bytes=a-b) gives 206. Each fetch is logged with the caller.',
      tags: [TAG],
      auth: true,
      access: GATE_PHOTO_READERS,
      params: z.strictObject({ permitNo: permitNoSchema, gateCheckId: idSchema }),
      query: z.strictObject({}),
      // No `tx`: the route reads credential:ListGateChecks, which any role may, but serves the photo to fewer.
      responses: [
        { status: 200, description: 'the whole photo or clip', contentType: 'application/octet-stream' },
        { status: 206, description: 'the requested range (Content-Range)', contentType: 'application/octet-stream' },
      ],
      errors: ['NOT_FOUND', 'RANGE_NOT_SATISFIABLE'],
      handler: async (ctx) => {
        const { permitNo, gateCheckId } = ctx.params as { permitNo: string; gateCheckId: string };
        const checks = await s.ledger.evaluate<GateCheckRecord[]>(await ctx.identity(), 'credential:ListGateChecks', { permitNo });
        const check = checks.find((g) => g.gateCheckId === gateCheckId);
        if (!check) throw new NotFoundError(`permit ${permitNo} records no gate check ${gateCheckId}; GET /v1/permits/${permitNo}/gate-checks lists them`);
        const photo = check.device?.photo;
        if (!photo) throw new NotFoundError(`gate check ${gateCheckId} of permit ${permitNo} records no photo`);
        ctx.log.info({ permitNo, gateCheckId, cid: photo.cid, caller: ctx.principal.sub, role: ctx.principal.role }, 'gate photo served (personal data)');
        const r = contentResponse(s, ctx, photo);
        return { ...r, headers: { ...r.headers, 'Cache-Control': 'no-store' } };
      },
    },
  ];
}

async function recordGateCheck(s: Services, ctx: RouteContext): Promise<RouteResult> {
  if (ctx.req.is('multipart/form-data')) return recordWithPhoto(s, ctx);
  const input = ctx.body as SignedGateCheckInput;
  if (input.check.photoSha256 !== undefined) {
    throw new ValidationError([
      { path: 'body.check.photoSha256', message: 'the gate signed a photo: send the check as multipart/form-data with the field gateCheck and the part photo' },
    ]);
  }
  return submitTx(s, ctx, 'credential:RecordSignedGateCheck', input);
}

interface ReceivedPhoto {
  input: SignedGateCheckInput;
  bytes: Buffer;
  mediaType: GatePhotoMediaType;
}

async function recordWithPhoto(s: Services, ctx: RouteContext): Promise<RouteResult> {
  const max = s.config.GATEWAY_GATE_PHOTO_MAX_BYTES;
  const expected = 'the field gateCheck (the signed check as JSON) and then one part named photo';
  const received = await readMultipart<ReceivedPhoto>(ctx, { files: 1, fields: 2, fieldSize: 16_384, parts: 4, fileSize: max }, expected, (bb, upload) => {
    const fail = (e: unknown) => upload.fail(e);
    let input: SignedGateCheckInput | undefined;
    let result: ReceivedPhoto | undefined;
    let reading: Promise<void> | undefined;
    bb.on('field', (name, value) => {
      if (name !== 'gateCheck') return fail(new ValidationError([{ path: `form.${name}`, message: 'unknown field; the signed check goes in gateCheck' }]));
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return fail(new ValidationError([{ path: 'form.gateCheck', message: 'is not JSON; send the signed check (check, code, signature) as JSON text' }]));
      }
      const checked = checkInput(signedGateCheckBody, json, 'form');
      if ('error' in checked) return fail(checked.error);
      input = checked.data;
    });
    bb.on('file', (name, stream, info) => {
      stream.on('limit', () => fail(new PayloadTooLargeError(max)));
      if (name !== 'photo') {
        stream.resume();
        return fail(new ValidationError([{ path: `form.${name}`, message: 'unknown part; the photo part must be named "photo"' }]));
      }
      if (!input) {
        stream.resume();
        return fail(new ValidationError([{ path: 'form.gateCheck', message: 'is missing; send the field gateCheck before the part photo' }]));
      }
      const mediaType = info.mimeType.toLowerCase();
      if (!(GATE_PHOTO_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
        stream.resume();
        return fail(new UnsupportedMediaTypeError(mediaType, GATE_PHOTO_MEDIA_TYPES));
      }
      const signed = input;
      const chunks: Buffer[] = [];
      reading = new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (!stream.truncated) result = { input: signed, bytes: Buffer.concat(chunks), mediaType: mediaType as GatePhotoMediaType };
          resolve();
        });
      });
    });
    bb.on('filesLimit', () => fail(new ValidationError([{ path: 'form', message: 'send exactly one photo' }])));
    bb.on('fieldsLimit', () => fail(new ValidationError([{ path: 'form', message: 'too many fields' }])));
    bb.on('close', () => {
      if (upload.settled) return;
      if (!reading) return fail(new ValidationError([{ path: 'form.photo', message: 'the part "photo" is missing' }]));
      void reading.then(() => {
        if (upload.settled || !result) return;
        if (result.bytes.length === 0) return fail(new ValidationError([{ path: 'form.photo', message: 'the photo is empty' }]));
        upload.succeed(result);
      });
    });
  });

  const { input, bytes, mediaType } = received;
  const { photoSha256, photoType } = input.check;
  if (photoSha256 === undefined || photoType === undefined) {
    throw new ValidationError([
      {
        path: 'form.gateCheck.check.photoSha256',
        message: 'a photo needs the device to sign it: set check.photoSha256 and check.photoType (signGateCheck with photo)',
      },
    ]);
  }
  if (mediaType !== photoType) {
    throw new ValidationError([
      { path: 'form.photo', message: `the photo part is declared ${mediaType}, the gate signed ${photoType}; send it as ${photoType}` },
    ]);
  }
  // Before anything is stored: the bytes are what their declared type says, and the ones the gate signed.
  await checkMediaType(bytes.subarray(0, SNIFF_BYTES), mediaType);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (`0x${sha256}` !== photoSha256.toLowerCase()) {
    throw new ValidationError([
      { path: 'form.photo', message: `the photo's sha256 is ${sha256}, not the ${photoSha256.toLowerCase()} the gate signed; send the photo the gate took` },
    ]);
  }
  const stored = await s.content.add(Readable.from([bytes]), s.config.GATEWAY_GATE_PHOTO_MAX_BYTES, () => new PayloadTooLargeError(max));
  return submitTx(s, ctx, 'credential:RecordSignedGateCheck', {
    ...input,
    photo: { cid: stored.cid, sha256: stored.sha256, sizeBytes: stored.sizeBytes, mediaType },
  });
}
