/**
 * The bundle container: a POSIX ustar archive, uncompressed, so `tar -xf` opens it anywhere and
 * the verifier reads it with a few lines in a browser. Regular files only.
 */
import { concat, fromUtf8, utf8 } from './bytes.js';

export class TarError extends Error {
  override readonly name = 'TarError';
}

function octal(field: Uint8Array): number {
  const s = fromUtf8(field).replace(/\0.*$/s, '').trim();
  if (!/^[0-7]*$/.test(s)) throw new TarError(`bad octal field "${s}"`);
  return s === '' ? 0 : parseInt(s, 8);
}

/** One entry's header: where its content starts, how long it is, and its path when a regular file. */
export interface TarEntry {
  /** Null for anything but a regular file (directories, links: skipped). */
  path: string | null;
  size: number;
  /** Offset of the content in the archive. */
  start: number;
  /** Offset of the next header. */
  next: number;
}

/**
 * Reads the 512-byte header at offset `at`; null at the archive's end (a zero record). Shared by the
 * in-memory reader below and indexTar, which the readers of a tar on disk and in a Blob walk.
 */
export function tarEntry(header: Uint8Array, at: number): TarEntry | null {
  if (header.every((b) => b === 0)) return null;
  const stored = octal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  if (sum !== stored) throw new TarError(`tar header checksum mismatch at offset ${at}`);
  const name = fromUtf8(header.subarray(0, 100)).replace(/\0.*$/s, '');
  const prefix = fromUtf8(header.subarray(345, 500)).replace(/\0.*$/s, '');
  const size = octal(header.subarray(124, 136));
  const type = String.fromCharCode(header[156]!);
  const start = at + 512;
  const regular = type === '0' || type === '\0';
  return { path: regular ? (prefix ? `${prefix}/${name}` : name) : null, size, start, next: start + Math.ceil(size / 512) * 512 };
}

/**
 * The header at `at` with the checks both walks make (the content inside an archive of `length`
 * bytes, no path twice); null at the archive's end.
 */
function checkedEntry(header: Uint8Array, at: number, length: number, seen: Set<string>): TarEntry | null {
  const entry = tarEntry(header, at);
  if (!entry) return null;
  if (entry.start + entry.size > length) throw new TarError(`tar entry ${entry.path ?? ''} runs past the end of the archive`);
  if (entry.path !== null) {
    if (seen.has(entry.path)) throw new TarError(`tar holds ${entry.path} twice`);
    seen.add(entry.path);
  }
  return entry;
}

export function readTar(archive: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const seen = new Set<string>();
  for (let at = 0, entry: TarEntry | null; at + 512 <= archive.length; at = entry.next) {
    entry = checkedEntry(archive.subarray(at, at + 512), at, archive.length, seen);
    if (!entry) break;
    if (entry.path !== null) files.set(entry.path, archive.subarray(entry.start, entry.start + entry.size));
  }
  return files;
}

/** A regular file's entry: where its content is in the archive. */
export type TarFile = TarEntry & { path: string };

/**
 * The regular files of a tar that stays where it is (a file on disk, a browser's Blob), each header
 * read with `readAt` and checked, with the refusals of readTar; the contents are not read.
 */
export async function indexTar(length: number, readAt: (offset: number, size: number) => Promise<Uint8Array>): Promise<TarFile[]> {
  const files: TarFile[] = [];
  const seen = new Set<string>();
  for (let at = 0, entry: TarEntry | null; at + 512 <= length; at = entry.next) {
    entry = checkedEntry(await readAt(at, 512), at, length, seen);
    if (!entry) break;
    if (entry.path !== null) files.push({ ...entry, path: entry.path });
  }
  return files;
}

function putString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = utf8(value);
  if (bytes.length > length) throw new TarError(`tar field too long: ${value}`);
  header.set(bytes, offset);
}

function putOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  putString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** The 512-byte ustar header of a regular file of `size` bytes. */
export function tarHeader(path: string, size: number, mtimeSeconds = 0): Uint8Array {
  const header = new Uint8Array(512);
  if (utf8(path).length > 100) throw new TarError(`tar path too long: ${path}`);
  putString(header, 0, 100, path);
  putOctal(header, 100, 8, 0o644);
  putOctal(header, 108, 8, 0);
  putOctal(header, 116, 8, 0);
  putOctal(header, 124, 12, size);
  putOctal(header, 136, 12, mtimeSeconds);
  header.fill(32, 148, 156);
  header[156] = '0'.charCodeAt(0);
  putString(header, 257, 6, 'ustar\0');
  putString(header, 263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  putString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** The zero bytes that fill a file of `size` bytes up to a whole 512-byte record. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

/** The two zero records that end an archive. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(1024);
}

/** Writes files in the given order; mtime is fixed so the same content gives the same archive. */
export function writeTar(files: Iterable<[string, Uint8Array]>, mtimeSeconds = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [path, content] of files) parts.push(tarHeader(path, content.length, mtimeSeconds), content, tarPadding(content.length));
  parts.push(tarEnd());
  return concat(...parts);
}
