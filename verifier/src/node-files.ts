/**
 * Node only (the CLI's): an archive or a bundle on disk as its files, without loading its evidence.
 * A month's archive may carry gigabytes of video; its blocks, headers and manifests are read into
 * memory (the checks parse them), each `evidence/` file stays on disk and is read, hashed and
 * dropped in pieces when checked. Memory then follows the ledger's part of the archive, not the
 * evidence's size.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { type FileContent, isEvidenceFile, type LargeFile } from './content.js';
import { indexTar, TarError } from './tar.js';

/** Pieces read at a time: large enough for few system calls, small against any evidence file. */
const PIECE_BYTES = 1 << 20;

const nodeSha256 = () => {
  const h = createHash('sha256');
  return {
    update: (b: Uint8Array) => void h.update(b),
    digest: () => new Uint8Array(h.digest()),
  };
};

/** `size` bytes of an open file from `offset`, read fresh each time (the file is shared, so positioned reads). */
function rangeOf(handle: FileHandle, offset: number, size: number): LargeFile {
  return {
    size,
    createSha256: nodeSha256,
    async *read() {
      for (let at = 0; at < size; ) {
        const piece = new Uint8Array(Math.min(PIECE_BYTES, size - at));
        const { bytesRead } = await handle.read(piece, 0, piece.length, offset + at);
        if (bytesRead === 0) throw new TarError(`the archive ends inside a file, ${size - at} bytes short`);
        yield bytesRead === piece.length ? piece : piece.subarray(0, bytesRead);
        at += bytesRead;
      }
    },
  };
}

/** A whole file, opened each time it is read. */
function fileOf(full: string, size: number): LargeFile {
  return {
    size,
    createSha256: nodeSha256,
    async *read() {
      const handle = await open(full, 'r');
      try {
        for (;;) {
          const piece = new Uint8Array(PIECE_BYTES);
          const { bytesRead } = await handle.read(piece, 0, piece.length, null);
          if (bytesRead === 0) return;
          yield bytesRead === piece.length ? piece : piece.subarray(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },
  };
}

export interface FilesOnDisk {
  files: Map<string, FileContent>;
  /** Releases the archive's file; the evidence cannot be read after it. */
  close(): Promise<void>;
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(bytes, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? bytes : bytes.subarray(0, got);
}

/** A tar on disk: the same entries and refusals as `readTar`, evidence left on disk. */
export async function openTar(file: string): Promise<FilesOnDisk> {
  const handle = await open(file, 'r');
  try {
    const { size: length } = await handle.stat();
    const files = new Map<string, FileContent>();
    for (const entry of await indexTar(length, (offset, size) => readExactly(handle, size, offset))) {
      files.set(entry.path, isEvidenceFile(entry.path) ? rangeOf(handle, entry.start, entry.size) : await readExactly(handle, entry.size, entry.start));
    }
    return { files, close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Every regular file under a directory (an imported archive), by its path relative to it with '/' separators. */
export async function openDirectory(root: string): Promise<FilesOnDisk> {
  const files = new Map<string, FileContent>();
  // Links are followed (an auditor may link a large evidence folder in rather than copy it); a link back up the tree
  // would recurse for ever, so each directory is walked once by its real path.
  const walked = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (walked.has(real)) return;
    walked.add(real);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const info = entry.isSymbolicLink() ? await stat(full) : entry;
      const name = path.relative(root, full).split(path.sep).join('/');
      if (info.isDirectory()) await walk(full);
      else if (info.isFile()) files.set(name, isEvidenceFile(name) ? fileOf(full, (await stat(full)).size) : new Uint8Array(await readFile(full)));
      else throw new Error(`${name} is neither a file nor a directory; an archive directory holds only files`);
    }
  };
  await walk(root);
  return { files, close: async () => {} };
}
