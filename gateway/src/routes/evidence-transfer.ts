/**
 * Video-sized evidence: resumable uploads with the tus 1.0 protocol (core, creation, termination;
 * https://tus.io/protocols/resumable-upload) and downloads with single HTTP byte ranges, so a
 * browser's <video> can seek in a clip without fetching all of it.
 *
 * tus is implemented here rather than with @tus/server because the gateway's pipeline (sign-in
 * limits, org check, role check, coded errors, the OpenAPI document built from the route list)
 * has to run for every request, and @tus/server brings its own request handling, locking and
 * error bodies that would bypass it. The protocol's core is small: a creation POST, HEAD for the
 * offset, PATCH to append, DELETE to end.
 */

import type { EvidenceRecord } from '@compliance-ledger/schema';
import { cidSchema, permitNoSchema } from '@compliance-ledger/schema';
import { z } from 'zod';
import { ApiError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.js';
import { type Access, parseInput, type RouteContext, type RouteDef, type RouteResult } from '../http.js';
import { checkMediaType, SNIFF_BYTES } from '../media-check.js';
import type { Services } from '../services.js';
import { BeyondLengthError, type EvidenceDeclaration, type UploadRecord, UploadStore } from '../uploads.js';
import { evidenceFieldsSchema, recordEvidence } from './enterprise.js';

export const TUS_VERSION = '1.0.0';
const TUS_EXTENSIONS = 'creation,termination';
const TAG = 'enterprise: evidence';
const EVIDENCE_WRITERS: Access = {
  enterprise: ['applicant', 'person_in_charge', 'safety_officer', 'gas_analyst', 'guardian', 'approver', 'acceptor', 'device_gateway'],
};

/** Upload-Metadata: comma-separated `key base64value` pairs (tus creation extension). */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const pair of header.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length > 0)
      throw new ValidationError([{ path: 'headers.upload-metadata', message: 'each pair is "key base64value", pairs separated by commas' }]);
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
      throw new ValidationError([{ path: `headers.upload-metadata.${key}`, message: 'the value must be base64' }]);
    out[key] = value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

const uploadMetadataSchema = evidenceFieldsSchema.extend({
  permitNo: permitNoSchema,
  filetype: z.string().min(1).describe('the declared media type, checked against the bytes'),
  filename: z.string().max(255).optional(),
});

/** One byte range of a file of `size` bytes (RFC 9110 §14): undefined to send it all, 'unsatisfiable' for 416. */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: a server may answer with the whole content instead.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (first >= size || last < first) return 'unsatisfiable';
  return { offset: first, length: last - first + 1 };
}

/** Sends recorded content, whole or one byte range; the record fixes its type, size and ETag. */
export function contentResponse(s: Services, ctx: RouteContext, content: { cid: string; sizeBytes: number; mediaType: string; sha256: string }): RouteResult {
  const range = parseRange(ctx.req.headers.range, content.sizeBytes);
  const etag = `"${content.cid}"`;
  const headers: Record<string, string> = {
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'private, max-age=31536000, immutable',
    'Content-Digest': `sha-256=:${Buffer.from(content.sha256, 'hex').toString('base64')}:`,
  };
  // If-Range with another validator: the client's partial copy is of something else; send it all.
  const ifRange = ctx.req.headers['if-range'];
  const partial = ifRange === undefined || ifRange === etag ? range : undefined;
  if (partial === 'unsatisfiable') {
    ctx.res.setHeader('Content-Range', `bytes */${content.sizeBytes}`);
    throw new ApiError(
      'RANGE_NOT_SATISFIABLE',
      `the range ${ctx.req.headers.range} is outside the ${content.sizeBytes} bytes of ${content.cid}; ask for bytes 0-${content.sizeBytes - 1}`,
      {
        sizeBytes: content.sizeBytes,
      },
    );
  }
  const timeout = s.config.GATEWAY_DOWNLOAD_TIMEOUT_MS;
  if (!partial) {
    return {
      status: 200,
      contentType: content.mediaType,
      headers: { ...headers, 'Content-Length': String(content.sizeBytes) },
      pump: (write) => s.content.pump(content.cid, timeout, undefined, write),
      body: undefined,
    };
  }
  return {
    status: 206,
    contentType: content.mediaType,
    headers: {
      ...headers,
      'Content-Length': String(partial.length),
      'Content-Range': `bytes ${partial.offset}-${partial.offset + partial.length - 1}/${content.sizeBytes}`,
    },
    pump: (write) => s.content.pump(content.cid, timeout, partial, write),
    body: undefined,
  };
}

function requireTus(ctx: RouteContext): void {
  // Every tus answer carries the version, refusals included.
  ctx.res.setHeader('Tus-Resumable', TUS_VERSION);
  const asked = ctx.req.headers['tus-resumable'];
  if (asked !== TUS_VERSION) {
    ctx.res.setHeader('Tus-Version', TUS_VERSION);
    throw new ApiError('TUS_VERSION_UNSUPPORTED', `send the header Tus-Resumable: ${TUS_VERSION} (got ${asked === undefined ? 'none' : String(asked)})`);
  }
}

const uploadIdParams = z.strictObject({ uploadId: z.string().regex(/^[0-9a-f]{32}$/, 'an upload id as returned in Location') });
// Optional to the schema so that a missing version gets tus's 412, not a 400 (requireTus).
const tusHeader = { 'tus-resumable': z.string().optional().describe(`the protocol version, ${TUS_VERSION} (required; 412 without it)`) };

export function evidenceTransferRoutes(s: Services): RouteDef[] {
  const store = new UploadStore(s.config.GATEWAY_UPLOAD_DIR);
  const max = s.config.GATEWAY_UPLOAD_MAX_BYTES;
  const owner = (ctx: RouteContext) => `${ctx.principal.org}/${ctx.principal.sub}`;
  const upload = async (ctx: RouteContext): Promise<UploadRecord> => {
    const record = await store.get(ctx.params.uploadId!, owner(ctx));
    if (!record) throw new NotFoundError(`no upload ${ctx.params.uploadId} of yours; create one with POST /v1/uploads`);
    return record;
  };

  /** The media check as soon as enough bytes are in: a renamed file is refused before it is all sent. */
  async function checkHead(record: UploadRecord, received: number): Promise<void> {
    if (record.mediaChecked || received < Math.min(SNIFF_BYTES, record.length)) return;
    try {
      await checkMediaType(await store.head(record.uploadId, SNIFF_BYTES), record.declared.mediaType);
    } catch (e) {
      await store.remove(record.uploadId);
      throw e;
    }
    record.mediaChecked = true;
    await store.save(record);
  }

  /** The last byte is in: into the content store, then evidence:Record. */
  async function finish(ctx: RouteContext, record: UploadRecord): Promise<NonNullable<UploadRecord['stored']>> {
    const content = await s.content.add(store.contentOf(record.uploadId), record.length, () => new PayloadTooLargeError(record.length));
    const committed = await recordEvidence(s, ctx, record.declared, content);
    record.stored = { ...content, transactionId: committed.body.transactionId, blockNumber: committed.body.blockNumber ?? -1 };
    await store.save(record);
    await store.dropStaging(record.uploadId);
    return record.stored;
  }

  const storedHeaders = (stored: NonNullable<UploadRecord['stored']>): Record<string, string> => ({
    'Evidence-Cid': stored.cid,
    'Evidence-Sha256': stored.sha256,
    'Ledger-Transaction-Id': stored.transactionId,
  });

  return [
    {
      method: 'options',
      path: '/v1/uploads',
      operationId: 'discoverUploads',
      summary: 'tus discovery: the protocol version, extensions and largest upload',
      tags: [TAG],
      auth: false,
      responses: [{ status: 204, description: 'headers Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size' }],
      handler: async () => ({
        status: 204,
        body: undefined,
        headers: { 'Tus-Resumable': TUS_VERSION, 'Tus-Version': TUS_VERSION, 'Tus-Extension': TUS_EXTENSIONS, 'Tus-Max-Size': String(max) },
      }),
    },
    {
      method: 'post',
      path: '/v1/uploads',
      operationId: 'createUpload',
      summary: 'Start a resumable evidence upload (tus creation)',
      description:
        'Upload-Length is the file size (at most Tus-Max-Size, GATEWAY_UPLOAD_MAX_BYTES). Upload-Metadata carries, base64-encoded, ' +
        '`permitNo`, `step`, `capturedAt`, optional `deviceId`, `filetype` (the media type, on the allow-list) and optional `filename`. ' +
        "The answer's Location is the upload; send the bytes with PATCH. Once the last byte is in, the gateway checks the media type " +
        'against the bytes, stores the file in IPFS and records it with evidence:Record. No Idempotency-Key: a repeated creation makes ' +
        'a second, unused upload and writes nothing to the ledger; the ledger write happens once per upload.',
      tags: [TAG],
      auth: true,
      access: EVIDENCE_WRITERS,
      selfIdempotent: true,
      requestHeaders: z.object({
        ...tusHeader,
        'upload-length': z.string().regex(/^\d+$/, 'the file size in bytes').describe('the file size in bytes'),
        'upload-metadata': z.string().describe('permitNo, step, capturedAt, deviceId?, filetype, filename? as `key base64value` pairs'),
      }),
      responses: [{ status: 201, description: 'created; Location names the upload', schema: z.object({ uploadId: z.string(), location: z.string() }) }],
      errors: ['TUS_VERSION_UNSUPPORTED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'EXPIRED'],
      handler: async (ctx) => {
        requireTus(ctx);
        const length = Number(ctx.req.headers['upload-length']);
        if (length < 1) throw new ValidationError([{ path: 'headers.upload-length', message: 'an empty file is not evidence' }]);
        if (length > max) throw new PayloadTooLargeError(max);
        const meta = parseInput(uploadMetadataSchema, parseUploadMetadata(ctx.req.headers['upload-metadata'] as string | undefined), 'form');
        const mediaType = meta.filetype.toLowerCase();
        if (!s.config.GATEWAY_EVIDENCE_MEDIA_TYPES.includes(mediaType)) throw new UnsupportedMediaTypeError(mediaType, s.config.GATEWAY_EVIDENCE_MEDIA_TYPES);
        // An unknown permit is refused before a byte is sent.
        await s.ledger.evaluate(await ctx.identity(), 'permit:Get', { permitNo: meta.permitNo });
        const declared: EvidenceDeclaration = {
          permitNo: meta.permitNo,
          step: meta.step,
          capturedAt: meta.capturedAt,
          deviceId: meta.deviceId,
          mediaType,
        };
        const record = await store.create(owner(ctx), length, declared);
        const location = `/v1/uploads/${record.uploadId}`;
        return { status: 201, body: { uploadId: record.uploadId, location }, headers: { Location: location } };
      },
    },
    {
      method: 'head',
      path: '/v1/uploads/{uploadId}',
      operationId: 'getUploadOffset',
      summary: 'The offset to resume a resumable upload from (tus HEAD)',
      tags: [TAG],
      auth: true,
      access: EVIDENCE_WRITERS,
      params: uploadIdParams,
      requestHeaders: z.object(tusHeader),
      responses: [{ status: 200, description: 'headers Upload-Offset and Upload-Length' }],
      errors: ['TUS_VERSION_UNSUPPORTED', 'NOT_FOUND'],
      handler: async (ctx) => {
        requireTus(ctx);
        const record = await upload(ctx);
        return {
          status: 200,
          body: undefined,
          headers: { 'Upload-Offset': String(await store.offset(record)), 'Upload-Length': String(record.length), 'Cache-Control': 'no-store' },
        };
      },
    },
    {
      method: 'patch',
      path: '/v1/uploads/{uploadId}',
      operationId: 'appendUpload',
      summary: 'Send bytes of a resumable upload from Upload-Offset on (tus PATCH)',
      description:
        'The body is appended at Upload-Offset, which must be the offset HEAD reports. A broken connection keeps what arrived. ' +
        'The PATCH that brings the last byte answers once the file is stored and recorded, with the headers Evidence-Cid, ' +
        'Evidence-Sha256 and Ledger-Transaction-Id. A file whose first bytes are not of the declared type is refused ' +
        '(415 CONTENT_TYPE_MISMATCH) and the upload is deleted.',
      tags: [TAG],
      auth: true,
      access: EVIDENCE_WRITERS,
      params: uploadIdParams,
      requestHeaders: z.object({ ...tusHeader, 'upload-offset': z.string().regex(/^\d+$/, 'a byte offset').describe('where these bytes go') }),
      rawBody: { contentType: 'application/offset+octet-stream', description: 'the next bytes of the file' },
      tx: 'evidence:Record',
      responses: [{ status: 204, description: 'appended; header Upload-Offset (and, when complete, Evidence-Cid, Evidence-Sha256, Ledger-Transaction-Id)' }],
      errors: [
        'TUS_VERSION_UNSUPPORTED',
        'NOT_FOUND',
        'UPLOAD_OFFSET_MISMATCH',
        'UPLOAD_BUSY',
        'UNSUPPORTED_MEDIA_TYPE',
        'CONTENT_TYPE_MISMATCH',
        'PAYLOAD_TOO_LARGE',
        'ALREADY_EXISTS',
        'EXPIRED',
      ],
      handler: async (ctx) => {
        requireTus(ctx);
        // Read from the header itself: req.is() says nothing for an empty body, and an empty PATCH at
        // the final offset is how a client retries storing and recording.
        if (ctx.req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() !== 'application/offset+octet-stream')
          throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the bytes with Content-Type: application/offset+octet-stream');
        const record = await upload(ctx);
        const outcome = await store.exclusive(record.uploadId, async () => {
          const at = await store.offset(record);
          const asked = Number(ctx.req.headers['upload-offset']);
          if (asked !== at)
            throw new ApiError('UPLOAD_OFFSET_MISMATCH', `the upload is at byte ${at}, not ${asked}; ask HEAD for the offset and send from there`, {
              offset: at,
            });
          if (record.stored) return record.stored;
          try {
            await store.append(record.uploadId, ctx.req, record.length - at);
          } catch (e) {
            if (e instanceof BeyondLengthError)
              throw new ApiError('PAYLOAD_TOO_LARGE', `the upload is ${record.length} bytes (Upload-Length); this PATCH sent more`);
            throw e;
          }
          const received = await store.offset(record);
          await checkHead(record, received);
          return received === record.length ? finish(ctx, record) : received;
        });
        if (!outcome.ran) throw new ApiError('UPLOAD_BUSY', 'another request is writing this upload; retry once it has ended (HEAD tells the offset)');
        const done = outcome.value;
        return typeof done === 'number'
          ? { status: 204, body: undefined, headers: { 'Upload-Offset': String(done) } }
          : { status: 204, body: undefined, headers: { 'Upload-Offset': String(record.length), ...storedHeaders(done) } };
      },
    },
    {
      method: 'delete',
      path: '/v1/uploads/{uploadId}',
      operationId: 'terminateUpload',
      summary: 'End a resumable upload and delete its received bytes (tus termination)',
      description: 'Evidence already recorded from a complete upload stays in the content store and on the ledger.',
      tags: [TAG],
      auth: true,
      access: EVIDENCE_WRITERS,
      params: uploadIdParams,
      requestHeaders: z.object(tusHeader),
      responses: [{ status: 204, description: 'deleted' }],
      errors: ['TUS_VERSION_UNSUPPORTED', 'NOT_FOUND', 'UPLOAD_BUSY'],
      handler: async (ctx) => {
        requireTus(ctx);
        const record = await upload(ctx);
        const outcome = await store.exclusive(record.uploadId, () => store.remove(record.uploadId));
        if (!outcome.ran) throw new ApiError('UPLOAD_BUSY', 'a PATCH is writing this upload; retry once it has ended');
        return { status: 204, body: undefined };
      },
    },
    {
      method: 'get',
      path: '/v1/uploads/{uploadId}',
      operationId: 'getUpload',
      summary: 'A resumable upload: bytes received, and once complete its CID, sha256 and ledger transaction',
      tags: [TAG],
      auth: true,
      access: EVIDENCE_WRITERS,
      params: uploadIdParams,
      query: z.strictObject({}),
      responses: [
        {
          status: 200,
          description: 'the upload',
          schema: z.object({
            uploadId: z.string(),
            length: z.number().int(),
            offset: z.number().int(),
            declared: z.object({}).catchall(z.unknown()),
            stored: z
              .object({ cid: z.string(), sha256: z.string(), sizeBytes: z.number().int(), transactionId: z.string(), blockNumber: z.number().int() })
              .optional(),
          }),
        },
      ],
      errors: ['NOT_FOUND'],
      handler: async (ctx) => {
        const record = await upload(ctx);
        const { owner: _owner, ...shown } = record;
        return { status: 200, body: { ...shown, offset: await store.offset(record) } };
      },
    },
    {
      method: 'get',
      path: '/v1/permits/{permitNo}/evidence/{cid}/content',
      operationId: 'downloadEvidence',
      summary: 'The bytes of recorded evidence, streamed; one byte range (Range: bytes=a-b) gives 206',
      description:
        'Only content the ledger records for this permit is served, with its recorded media type, size and sha256 ' +
        '(Content-Digest); ETag is the CID. Accept-Ranges: bytes; a range outside the file is 416 with Content-Range: bytes */size; ' +
        'several ranges in one request get the whole file (200).',
      tags: [TAG],
      auth: true,
      access: { enterprise: 'any', regulator: 'any' },
      params: z.strictObject({ permitNo: permitNoSchema, cid: cidSchema }),
      query: z.strictObject({}),
      tx: 'evidence:List',
      responses: [
        { status: 200, description: 'the whole file', contentType: 'application/octet-stream' },
        { status: 206, description: 'the requested range (Content-Range)', contentType: 'application/octet-stream' },
      ],
      errors: ['NOT_FOUND', 'RANGE_NOT_SATISFIABLE'],
      handler: async (ctx) => {
        const { permitNo, cid } = ctx.params as { permitNo: string; cid: string };
        const records = await s.ledger.evaluate<EvidenceRecord[]>(await ctx.identity(), 'evidence:List', { permitNo });
        const record = records.find((r) => r.cid === cid);
        if (!record) throw new NotFoundError(`permit ${permitNo} records no evidence ${cid}; GET /v1/permits/${permitNo}/evidence lists what it records`);
        return contentResponse(s, ctx, record);
      },
    },
  ];
}
