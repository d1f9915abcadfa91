/**
 * Resumable evidence uploads in progress (the tus protocol's server state): for each upload a small
 * JSON record of what was declared and a staging file that grows with each PATCH. The staging
 * file's size is the upload's offset, so what a broken connection managed to write is kept and the
 * client resumes from there. Complete files stream from the staging file into the content store.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface EvidenceDeclaration {
  permitNo: string;
  step: string;
  capturedAt: string;
  deviceId?: string | undefined;
  mediaType: string;
}

export interface UploadRecord {
  uploadId: string;
  /** org/sub of the creator: nobody else may see, continue or end it. */
  owner: string;
  length: number;
  declared: EvidenceDeclaration;
  createdAt: string;
  /** The head of the bytes matched the declared media type. */
  mediaChecked: boolean;
  /** Set once the content is stored and recorded on the ledger. */
  stored?: { cid: string; sha256: string; sizeBytes: number; transactionId: string; blockNumber: number };
}

/** The bytes a PATCH sent beyond the declared length. */
export class BeyondLengthError extends Error {}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

export class UploadStore {
  /** Uploads a PATCH is writing right now: one writer per upload. */
  private readonly busy = new Set<string>();
  constructor(private readonly dir: string) {}
  private recordPath(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
  partPath(id: string): string {
    return path.join(this.dir, `${id}.part`);
  }

  async create(owner: string, length: number, declared: EvidenceDeclaration): Promise<UploadRecord> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const record: UploadRecord = {
      uploadId: crypto.randomBytes(16).toString('hex'),
      owner,
      length,
      declared,
      createdAt: new Date().toISOString(),
      mediaChecked: false,
    };
    await fs.promises.writeFile(this.partPath(record.uploadId), new Uint8Array(0), { mode: 0o600 });
    await this.save(record);
    return record;
  }

  /** The caller's upload, or undefined (unknown ids and other owners' uploads look the same). */
  async get(id: string, owner: string): Promise<UploadRecord | undefined> {
    if (!UPLOAD_ID.test(id)) return undefined;
    const text = await fs.promises.readFile(this.recordPath(id), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const record = JSON.parse(text) as UploadRecord;
    return record.owner === owner ? record : undefined;
  }

  async save(record: UploadRecord): Promise<void> {
    const tmp = `${this.recordPath(record.uploadId)}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    await fs.promises.rename(tmp, this.recordPath(record.uploadId));
  }

  /** Bytes received so far. */
  async offset(record: UploadRecord): Promise<number> {
    if (record.stored) return record.length;
    return (await fs.promises.stat(this.partPath(record.uploadId))).size;
  }

  /** The first bytes received, for the media type check. */
  async head(id: string, bytes: number): Promise<Buffer> {
    const fh = await fs.promises.open(this.partPath(id), 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  /** Runs `work` as the upload's only writer; false when another request holds it. */
  async exclusive<T>(id: string, work: () => Promise<T>): Promise<{ ran: false } | { ran: true; value: T }> {
    if (this.busy.has(id)) return { ran: false };
    this.busy.add(id);
    try {
      return { ran: true, value: await work() };
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * Appends a request body to the staging file. Rejects when the connection breaks (the bytes that
   * reached the disk stay) or with BeyondLengthError when it sends more than `room` bytes (the
   * chunk that crosses the declared length is not written).
   */
  async append(id: string, body: Readable, room: number): Promise<void> {
    let received = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (received > room) return cb(new BeyondLengthError());
        cb(null, chunk);
      },
    });
    await pipeline(body, limit, fs.createWriteStream(this.partPath(id), { flags: 'a' }));
  }

  contentOf(id: string): Readable {
    return fs.createReadStream(this.partPath(id), { highWaterMark: 256 * 1024 });
  }

  async dropStaging(id: string): Promise<void> {
    await fs.promises.rm(this.partPath(id), { force: true });
  }

  async remove(id: string): Promise<void> {
    await this.dropStaging(id);
    await fs.promises.rm(this.recordPath(id), { force: true });
  }
}
